using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace ZenTalk.Storage.Database;

/// <summary>
/// The backup stream: a 32-byte header (magic <c>ZTMSBKUP</c>, format version, schema version, payload length),
/// the SQLite database file as payload, then a SHA-256 of header and payload as trailer.
/// All integers little-endian.
/// </summary>
/// <remarks>
/// Header layout: magic[8] | format version u16 | flags u16 (0) | schema version u32 | payload length u64 |
/// reserved u64 (0). The length up front lets a reader detect truncation before trusting any payload byte; the
/// trailer detects corruption anywhere, header included.
/// </remarks>
internal static class BackupFormat
{
    public const int HeaderSize = 32;
    public const int TrailerSize = 32;
    public const ushort FormatVersion = 1;
    private const int BufferSize = 128 * 1024;

    public static ReadOnlySpan<byte> Magic => "ZTMSBKUP"u8;

    /// <summary>Writes header, the file at <paramref name="databasePath"/>, and trailer to <paramref name="destination"/>.</summary>
    public static async Task WriteAsync(string databasePath, int schemaVersion, Stream destination, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            var source = new FileStream(databasePath, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan | FileOptions.Asynchronous);
            await using var sourceScope = source.ConfigureAwait(false);
            var header = new byte[HeaderSize];
            Magic.CopyTo(header);
            BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), FormatVersion);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), (uint)schemaVersion);
            BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), source.Length);
            hash.AppendData(header);
            await destination.WriteAsync(header, cancellationToken).ConfigureAwait(false);
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }
            await destination.WriteAsync(hash.GetHashAndReset(), cancellationToken).ConfigureAwait(false);
            await destination.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Reads and fully verifies a backup stream, writing its payload to <paramref name="outputPath"/> (flushed to
    /// disk). Returns the schema version from the header. Throws <see cref="BackupFormatException"/> on any defect.
    /// </summary>
    public static async Task<int> ReadAsync(Stream source, string outputPath, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var header = new byte[HeaderSize];
        var got = await ReadFullyAsync(source, header, cancellationToken).ConfigureAwait(false);
        if (got > 0 && got < Magic.Length && header.AsSpan(0, got).SequenceEqual(Magic[..got]))
        {
            throw new BackupFormatException("The backup is truncated: its header is incomplete. Nothing was restored.");
        }
        if (got < Magic.Length || !header.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            throw new BackupFormatException("The stream is not a ZenTalk message store backup (wrong magic bytes). Nothing was restored.");
        }
        if (got < HeaderSize)
        {
            throw new BackupFormatException("The backup is truncated: its header is incomplete. Nothing was restored.");
        }
        var formatVersion = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(8));
        if (formatVersion != FormatVersion)
        {
            throw new BackupFormatException($"The backup has format version {formatVersion}; this version of ZenTalk.Storage reads version {FormatVersion}. Nothing was restored.");
        }
        var schemaVersion = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(12));
        var length = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(16));
        if (length <= 0 || schemaVersion == 0 || schemaVersion > int.MaxValue)
        {
            throw new BackupFormatException("The backup header is invalid (bad length or schema version). Nothing was restored.");
        }
        hash.AppendData(header);

        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            var output = new FileStream(outputPath, PrivateFiles.CreateNew(FileAccess.Write, FileOptions.Asynchronous, bufferSize: 1));
            await using (output.ConfigureAwait(false))
            {
                var remaining = length;
                while (remaining > 0)
                {
                    var want = (int)Math.Min(BufferSize, remaining);
                    var read = await source.ReadAsync(buffer.AsMemory(0, want), cancellationToken).ConfigureAwait(false);
                    if (read == 0)
                    {
                        throw new BackupFormatException($"The backup is truncated: {length - remaining} of {length} database bytes present. Nothing was restored.");
                    }
                    hash.AppendData(buffer, 0, read);
                    await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    remaining -= read;
                }
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                output.Flush(flushToDisk: true);
            }
            var trailer = new byte[TrailerSize];
            if (await ReadFullyAsync(source, trailer, cancellationToken).ConfigureAwait(false) < TrailerSize)
            {
                throw new BackupFormatException("The backup is truncated: its checksum is missing. Nothing was restored.");
            }
            if (!CryptographicOperations.FixedTimeEquals(trailer, hash.GetHashAndReset()))
            {
                throw new BackupFormatException("The backup is corrupted: its SHA-256 checksum does not match. Nothing was restored.");
            }
            return (int)schemaVersion;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task<int> ReadFullyAsync(Stream source, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await source.ReadAsync(buffer[total..], cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }
            total += read;
        }
        return total;
    }
}
