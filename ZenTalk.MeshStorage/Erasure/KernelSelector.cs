using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ZenTalk.MeshStorage.Erasure;

/// <summary>Picks the kernel once per process: the fastest the CPU supports, unless ZENTALK_RS_KERNEL names another.</summary>
internal static class KernelSelector
{
    /// <summary>Environment variable that forces a kernel (Gfni512, Gfni256, Avx512, Avx2, Vector128, Scalar) for every codec.</summary>
    public const string EnvironmentVariable = "ZENTALK_RS_KERNEL";

    // Fastest first. On Zen 4 the 512-bit affine kernel and the 256-bit one are close (zmm is double-pumped),
    // but 512-bit halves the instruction count; the nibble kernels need 4 instructions per product instead of 1.
    private static readonly ReedSolomonKernel[] Preference =
    [
        ReedSolomonKernel.Gfni512, ReedSolomonKernel.Gfni256, ReedSolomonKernel.Avx512,
        ReedSolomonKernel.Avx2, ReedSolomonKernel.Vector128, ReedSolomonKernel.Scalar,
    ];

    /// <summary>The kernel <see cref="ReedSolomonKernel.Auto"/> stands for in this process.</summary>
    public static ReedSolomonKernel Default { get; } = ChooseDefault();

    public static bool IsSupported(ReedSolomonKernel kernel) => kernel switch
    {
        ReedSolomonKernel.Auto or ReedSolomonKernel.Scalar => true,
        ReedSolomonKernel.Gfni512 => GfniKernels.V512.IsSupported,
        ReedSolomonKernel.Gfni256 => GfniKernels.V256.IsSupported && GfniKernels.V128.IsSupported,
        ReedSolomonKernel.Avx512 => NibbleKernels.V512.IsSupported && NibbleKernels.V256.IsSupported,
        ReedSolomonKernel.Avx2 => NibbleKernels.V256.IsSupported && NibbleKernels.V128.IsSupported,
        ReedSolomonKernel.Vector128 => NibbleKernels.V128.IsSupported,
        _ => false,
    };

    /// <summary>Resolves <see cref="ReedSolomonKernel.Auto"/>; a forced kernel must be supported.</summary>
    /// <exception cref="ArgumentException">The CPU cannot run <paramref name="requested"/>.</exception>
    public static ReedSolomonKernel Resolve(ReedSolomonKernel requested)
    {
        if (requested == ReedSolomonKernel.Auto)
        {
            return Default;
        }

        if (!IsSupported(requested))
        {
            throw new ArgumentException($"This CPU cannot run the {requested} Reed-Solomon kernel.", nameof(requested));
        }

        return requested;
    }

    private static ReedSolomonKernel ChooseDefault()
    {
        // An unknown or unsupported name falls back to the best kernel rather than failing every codec.
        string? forced = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(forced)
            && Enum.TryParse(forced.Trim(), ignoreCase: true, out ReedSolomonKernel kernel)
            && kernel != ReedSolomonKernel.Auto
            && IsSupported(kernel))
        {
            return kernel;
        }

        foreach (ReedSolomonKernel candidate in Preference)
        {
            if (IsSupported(candidate))
            {
                return candidate;
            }
        }

        return ReedSolomonKernel.Scalar;
    }

    /// <summary>Whether 256-bit code may use 32 vector registers (EVEX encoding), which allows wider output groups.</summary>
    public static bool HasThirtyTwoVectorRegisters => Avx512F.IsSupported || Vector512.IsHardwareAccelerated;
}
