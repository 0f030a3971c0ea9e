using System.Globalization;
using Microsoft.Extensions.Logging;

namespace ZenTalk.MeshStorage.Shards;

/// <summary>
/// What a <see cref="ShardStoreUpgrade"/> stages with: the store's root and options, the staged tree, a writer that
/// appends current records (<see cref="PackRecord"/>) to sealed packs in it, and the quarantine for old files that
/// fail their check. Blocking; one thread.
/// </summary>
internal sealed class ShardStoreUpgradeContext : IDisposable
{
    private readonly ShardStoreOptions _options;
    private readonly byte[] _header = new byte[PackRecord.MaxHeaderSize];
    private PackFile? _pack;
    private long _lastPackId;
    private int _added;

    public ShardStoreUpgradeContext(ShardStoreOptions options, string staged, CancellationToken cancellationToken)
    {
        _options = options;
        Staged = staged;
        CancellationToken = cancellationToken;
    }

    /// <summary>The store's directory, in the layout the step upgrades from.</summary>
    public string Root => _options.Directory;

    /// <summary>Where the step builds its tree; moved into place when the step returns.</summary>
    public string Staged { get; }

    public ILogger Logger => _options.Logger;

    public CancellationToken CancellationToken { get; }

    /// <summary>
    /// Writes a shard as a record of the current layout into the staged packs (a new pack when the last one would pass
    /// <see cref="ShardStoreOptions.PackBytes"/>; full packs are sealed). The caller has checked the payload's hash.
    /// </summary>
    public void AddShard(ShardInfo info, ReadOnlySpan<byte> payload)
    {
        CancellationToken.ThrowIfCancellationRequested();
        var size = PackRecord.Size(info);
        if (_pack is null || (_pack.End > PackFile.FileHeaderSize && _pack.End + size > _options.PackBytes))
        {
            ClosePack();
            _pack = PackFile.Create(Staged, ++_lastPackId);
        }

        var headerSize = PackRecord.WriteHeader(_header, _pack.Salt, info, Crc32C.Compute(payload));
        var offset = _pack.End;
        RandomAccess.Write(_pack.Handle, _header.AsSpan(0, headerSize), offset);
        RandomAccess.Write(_pack.Handle, payload, offset + headerSize);
        RandomAccess.Write(_pack.Handle, ZeroFill.Zeros.Span[..(int)(size - headerSize - info.Length)], offset + headerSize + info.Length);
        _pack.End += size;
        _options.MigrationStep?.Invoke("copied:" + (++_added).ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Copies an old file that failed its check to <c>quarantine/</c> as <paramref name="name"/>, for inspection.</summary>
    public void Quarantine(string file, string name)
    {
        var quarantine = Path.Combine(Root, ShardStoreLayout.QuarantineDirectory);
        Directory.CreateDirectory(quarantine);
        File.Copy(file, Path.Combine(quarantine, name), overwrite: true);
    }

    /// <summary>Seals the last pack (which flushes its records) and flushes the staged directory.</summary>
    public void Complete()
    {
        ClosePack();
        FileSync.Directory(Staged);
    }

    private void ClosePack()
    {
        if (_pack is null) return;
        _pack.Seal(); // flushes every record first
        _pack.Release();
        _pack = null;
    }

    public void Dispose()
    {
        _pack?.Release();
        _pack = null;
    }
}
