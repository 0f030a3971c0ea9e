using System.Globalization;
using System.Text;
using ZenTalk.MeshStorage;

namespace ZenTalk.Sdk;

/// <summary>
/// What a message store backup in the mesh is found and decrypted by. Keep it (or its
/// <see cref="ToRecoveryKit">recovery kit</see> text) somewhere safe and private: with it, anyone can read the backup;
/// without it, nobody can — including you.
/// </summary>
/// <remarks>A record with init properties rather than a positional one, so later versions can add members.</remarks>
public sealed record BackupReceipt
{
    /// <summary>The backup's content identifier in the mesh.</summary>
    public required Cid Cid { get; init; }

    /// <summary>The key the backup is encrypted with.</summary>
    public required ContentKey ContentKey { get; init; }

    /// <summary>The backup's size in bytes.</summary>
    public required long Size { get; init; }

    /// <summary>When the backup was taken.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    private const string Header = "ZenTalk recovery kit v1";

    /// <summary>
    /// Writes the receipt as a short text for the user to keep (print it, or store it in a password manager):
    /// a header line, then <c>cid:</c>, <c>key:</c>, <c>size:</c> and <c>created:</c> lines.
    /// </summary>
    /// <returns>The recovery kit text. It contains the content key: treat it as a secret.</returns>
    public string ToRecoveryKit()
    {
        var text = new StringBuilder();
        text.Append(Header).Append('\n');
        text.Append("# Keep this private: it opens your ZenTalk message backup. Restore with BackupService.RestoreAsync.\n");
        text.Append("cid: ").Append(Cid.ToString()).Append('\n');
        text.Append("key: ").Append(ContentKey.ExportBase64Url()).Append('\n');
        text.Append("size: ").Append(Size.ToString(CultureInfo.InvariantCulture)).Append('\n');
        text.Append("created: ").Append(CreatedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)).Append('\n');
        return text.ToString();
    }

    /// <summary>Reads a recovery kit written by <see cref="ToRecoveryKit"/> (surrounding whitespace and comment lines are ignored).</summary>
    /// <param name="recoveryKit">The kit's text.</param>
    /// <returns>The receipt.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="recoveryKit"/> is null.</exception>
    /// <exception cref="FormatException">The text is not a version 1 recovery kit, or a field is missing or malformed.</exception>
    public static BackupReceipt ParseRecoveryKit(string recoveryKit)
    {
        ArgumentNullException.ThrowIfNull(recoveryKit);
        var lines = recoveryKit.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0 || lines[0] != Header)
        {
            throw new FormatException($"Not a ZenTalk recovery kit: the first line must be '{Header}'.");
        }
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in lines.AsSpan(1))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || !fields.TryAdd(line[..colon].Trim(), line[(colon + 1)..].Trim()))
            {
                throw new FormatException($"Recovery kit line '{line}' is not a single 'name: value' field.");
            }
        }
        string Field(string name) => fields.TryGetValue(name, out var value)
            ? value
            : throw new FormatException($"The recovery kit has no '{name}:' line.");
        var cid = Cid.TryParse(Field("cid"), out var parsed) ? parsed : throw new FormatException("The recovery kit's cid is not a ZenTalk CID.");
        var key = ContentKey.ImportBase64Url(Field("key"));
        if (!long.TryParse(Field("size"), NumberStyles.None, CultureInfo.InvariantCulture, out var size))
        {
            throw new FormatException("The recovery kit's size is not a non-negative whole number.");
        }
        if (!DateTimeOffset.TryParse(Field("created"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var created))
        {
            throw new FormatException("The recovery kit's created time is not an ISO 8601 time.");
        }
        return new BackupReceipt { Cid = cid, ContentKey = key, Size = size, CreatedAt = created };
    }

    /// <summary>A description without the key, safe for logs.</summary>
    /// <returns>The CID, size and time.</returns>
    public override string ToString() => $"BackupReceipt({Cid}, {Size} bytes, {CreatedAt:O})";
}
