using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace SendImage;

/// <summary>
/// A minimal PNG writer (8-bit RGB, no interlace, filter "None"), so the sample ships no binary file: the picture it
/// sends is a real PNG any viewer opens.
/// </summary>
internal static class PngEncoder
{
    private static readonly uint[] CrcTable = BuildCrcTable();

    public static byte[] Encode(int width, int height, Func<int, int, (byte R, byte G, byte B)> pixel)
    {
        var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);

        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;  // bits per channel
        header[9] = 2;  // colour type: RGB
        // compression 0 (zlib), filter method 0, interlace 0: already zero.
        WriteChunk(png, "IHDR", header);

        var pixels = new MemoryStream();
        using (var zlib = new ZLibStream(pixels, CompressionLevel.Fastest, leaveOpen: true))
        {
            var row = new byte[1 + (width * 3)];
            for (var y = 0; y < height; y++)
            {
                row[0] = 0; // filter type None
                for (var x = 0; x < width; x++)
                {
                    var (r, g, b) = pixel(x, y);
                    row[1 + (x * 3)] = r;
                    row[2 + (x * 3)] = g;
                    row[3 + (x * 3)] = b;
                }
                zlib.Write(row);
            }
        }
        WriteChunk(png, "IDAT", pixels.ToArray());
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    /// <summary>Checks the signature and every chunk's CRC, as a viewer would.</summary>
    public static bool IsValid(ReadOnlySpan<byte> png)
    {
        if (png.Length < 8 || png[0] != 0x89 || png[1] != (byte)'P')
        {
            return false;
        }
        var at = 8;
        while (at + 12 <= png.Length)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png[at..]);
            if (length < 0 || at + 12 + length > png.Length)
            {
                return false;
            }
            var typeAndData = png.Slice(at + 4, 4 + length);
            if (Crc32(typeAndData) != BinaryPrimitives.ReadUInt32BigEndian(png[(at + 8 + length)..]))
            {
                return false;
            }
            if (typeAndData[..4].SequenceEqual("IEND"u8))
            {
                return at + 12 + length == png.Length;
            }
            at += 12 + length;
        }
        return false;
    }

    private static void WriteChunk(Stream output, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        output.Write(word);
        var typeAndData = new byte[4 + data.Length];
        Encoding.ASCII.GetBytes(type, typeAndData);
        data.CopyTo(typeAndData, 4);
        output.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typeAndData));
        output.Write(word);
    }

    // CRC-32 as PNG specifies it (ISO 3309 / ITU-T V.42, reflected polynomial 0xEDB88320).
    private static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }
        return crc ^ 0xFFFFFFFFu;
    }

    private static uint[] BuildCrcTable()
    {
        var table = new uint[256];
        for (var n = 0u; n < 256; n++)
        {
            var c = n;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }
            table[n] = c;
        }
        return table;
    }
}
