using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ZenTalk.MeshStorage.Erasure;

namespace ZenTalk.Sdk.Tests.MeshStorage.Erasure;

public class GaloisFieldTests
{
    // Multiplication by shift-and-reduce, independent of the log/exp tables.
    private static byte CarrylessMul(int a, int b)
    {
        int product = 0;
        for (int i = 0; i < 8; i++)
        {
            if ((b & (1 << i)) != 0)
            {
                product ^= a << i;
            }
        }

        for (int bit = 14; bit >= 8; bit--)
        {
            if ((product & (1 << bit)) != 0)
            {
                product ^= 0x11D << (bit - 8);
            }
        }

        return (byte)product;
    }

    [Test]
    public void Multiplication_matches_shift_and_reduce_with_polynomial_0x11D_for_every_pair()
    {
        for (int a = 0; a < 256; a++)
        {
            for (int b = 0; b < 256; b++)
            {
                if (GaloisField.Mul((byte)a, (byte)b) != CarrylessMul(a, b))
                {
                    Assert.Fail($"{a} * {b}: table gives {GaloisField.Mul((byte)a, (byte)b)}, shift-and-reduce {CarrylessMul(a, b)}");
                }
            }
        }
    }

    [Test]
    public void Every_non_zero_element_has_an_inverse_and_division_undoes_multiplication()
    {
        for (int a = 1; a < 256; a++)
        {
            Assert.That(GaloisField.Mul((byte)a, GaloisField.Inverse((byte)a)), Is.EqualTo(1), $"inverse of {a}");
            for (int b = 1; b < 256; b++)
            {
                Assert.That(GaloisField.Div(GaloisField.Mul((byte)a, (byte)b), (byte)b), Is.EqualTo(a));
            }
        }

        Assert.Throws<DivideByZeroException>(() => GaloisField.Inverse(0));
    }

    [Test]
    public void Two_generates_the_whole_multiplicative_group()
    {
        var seen = new HashSet<byte>();
        for (int n = 0; n < 255; n++)
        {
            seen.Add(GaloisField.Pow(2, n));
        }

        Assert.That(seen, Has.Count.EqualTo(255));
        Assert.That(seen, Does.Not.Contain((byte)0));
        Assert.That(GaloisField.Pow(0, 0), Is.EqualTo(1), "Backblaze's convention, which the Vandermonde matrix depends on");
    }

    [Test]
    public void Affine_matrix_multiplies_like_the_field_under_Intels_bit_order()
    {
        // GF2P8AFFINEQB as the SDM defines it: result bit i = parity(matrix byte (7 - i) AND x).
        for (int c = 0; c < 256; c++)
        {
            ulong m = GaloisField.AffineMatrix((byte)c);
            for (int x = 0; x < 256; x++)
            {
                int result = 0;
                for (int i = 0; i < 8; i++)
                {
                    int row = (int)(m >> (8 * (7 - i))) & 0xFF;
                    result |= (System.Numerics.BitOperations.PopCount((uint)(row & x)) & 1) << i;
                }

                if (result != GaloisField.Mul((byte)c, (byte)x))
                {
                    Assert.Fail($"{c} * {x}");
                }
            }
        }
    }

    [Test]
    public void Affine_matrix_multiplies_like_the_field_on_the_GFNI_hardware()
    {
        if (!Gfni.IsSupported)
        {
            Assert.Ignore("This CPU has no GFNI.");
        }

        Span<byte> all = stackalloc byte[256];
        for (int i = 0; i < 256; i++)
        {
            all[i] = (byte)i;
        }

        for (int c = 0; c < 256; c++)
        {
            var matrix = Vector128.Create(GaloisField.AffineMatrix((byte)c)).AsByte();
            for (int block = 0; block < 256; block += 16)
            {
                Vector128<byte> product = Gfni.GaloisFieldAffineTransform(Vector128.Create(all.Slice(block, 16)), matrix, 0);
                for (int j = 0; j < 16; j++)
                {
                    Assert.That(product[j], Is.EqualTo(GaloisField.Mul((byte)c, (byte)(block + j))), $"{c} * {block + j}");
                }
            }
        }
    }

    [Test]
    public void Matrix_inverse_times_matrix_is_the_identity()
    {
        GfMatrix m = GfMatrix.Vandermonde(10, 15).SelectRows([0, 2, 4, 6, 8, 10, 11, 12, 13, 14]);
        GfMatrix product = m.Multiply(m.Invert());
        for (int r = 0; r < 10; r++)
        {
            for (int c = 0; c < 10; c++)
            {
                Assert.That(product[r, c], Is.EqualTo(r == c ? 1 : 0));
            }
        }
    }

    [Test]
    public void Inverting_a_singular_matrix_fails_clearly()
    {
        var m = new GfMatrix(2, 2);
        m[0, 0] = 3;
        m[0, 1] = 5;
        m[1, 0] = 3;
        m[1, 1] = 5;
        Assert.Throws<InvalidOperationException>(() => m.Invert());
    }
}
