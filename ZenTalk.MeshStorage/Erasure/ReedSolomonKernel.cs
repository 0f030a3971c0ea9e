namespace ZenTalk.MeshStorage.Erasure;

/// <summary>The inner loops the codec can run; <see cref="Auto"/> picks the fastest the CPU supports.</summary>
internal enum ReedSolomonKernel
{
    /// <summary>The best supported kernel, or the one named by the ZENTALK_RS_KERNEL environment variable.</summary>
    Auto,

    /// <summary>GF2P8AFFINEQB on 512-bit vectors (AVX-512F + GFNI).</summary>
    Gfni512,

    /// <summary>GF2P8AFFINEQB on 256-bit vectors (AVX + GFNI).</summary>
    Gfni256,

    /// <summary>Split-nibble table lookups with VPSHUFB on 512-bit vectors (AVX-512BW).</summary>
    Avx512,

    /// <summary>Split-nibble table lookups with VPSHUFB on 256-bit vectors (AVX2).</summary>
    Avx2,

    /// <summary>Split-nibble table lookups with <c>Vector128.ShuffleNative</c> (SSSE3 or ARM64 NEON TBL).</summary>
    Vector128,

    /// <summary>One 256-byte product-table row per coefficient; runs everywhere.</summary>
    Scalar,
}
