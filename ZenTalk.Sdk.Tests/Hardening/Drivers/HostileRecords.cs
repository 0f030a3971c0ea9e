using System.Security.Cryptography;
using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Format.Proto;
using ZenTalk.MeshStorage.Rpc.Wire;
using ZenTalk.MeshStorage.Testing;

namespace ZenTalk.Sdk.Tests.Hardening.Drivers;

/// <summary>
/// What an attacker pushes as file records, and where it places itself: manifests signed with any key and any
/// parameters (bypassing <see cref="ZenTalk.MeshStorage.Format.Manifest.Sign"/>'s checks), sent over real TLS by an
/// <see cref="AttackerPeer"/>; and storing nodes whose ids sit next to a chosen key, as an attacker who grinds node keys
/// can place them.
/// </summary>
internal static class HostileRecords
{
    public static Task<MeshStorageException?> StoreRecordAsync(this AttackerPeer attacker, MeshNode to, ValueRecord record) =>
        attacker.Refusal(to, new Request { StoreValue = new StoreValueRequest { Record = record } });

    /// <summary>How many of <paramref name="nodes"/> accept the record.</summary>
    public static async Task<int> StoreEverywhereAsync(this AttackerPeer attacker, IEnumerable<MeshNode> nodes, ValueRecord record)
    {
        int accepted = 0;
        foreach (var node in nodes)
            if (await attacker.StoreRecordAsync(node, record).ConfigureAwait(false) is null) accepted++;
        return accepted;
    }

    /// <summary>A manifest record signed by <paramref name="signer"/> with whatever parameters the attacker likes (shard hashes are random: no shard exists).</summary>
    public static (ValueRecord Record, ZenTalk.MeshStorage.Cid Cid) Manifest(OwnerKey signer, long size, int segmentSize, int k, int m)
    {
        var bodyBytes = ParserFuzzer.Body(signer, size, Random.Shared, segmentSize, k, m).ToByteArray();
        var bytes = new SignedManifest
        {
            Body = ByteString.CopyFrom(bodyBytes),
            Signature = ByteString.CopyFrom(signer.Sign(ZenTalk.MeshStorage.Format.Manifest.SignedPayload(bodyBytes))),
        }.ToByteArray();
        var digest = SHA256.HashData(bytes);
        var record = new ValueRecord
        {
            Key = ByteString.CopyFrom(digest),
            Kind = RecordKind.Signed,
            Name = ByteString.CopyFromUtf8("m"),
            Value = ByteString.CopyFrom(bytes),
            Type = FileRecords.Type,
        };
        return (record, ZenTalk.MeshStorage.Cid.FromDigest(new Sha256Hash(digest)));
    }

    /// <summary>
    /// Starts a storing node that joins through <paramref name="bootstrap"/> after everything else happened, with a
    /// node key ground until its id shares at least <paramref name="bits"/> leading bits with <paramref name="near"/>
    /// (so it is among the closest nodes to that key, and every lookup of it asks this node first), with the mesh's
    /// <paramref name="settings"/>.
    /// </summary>
    public static async Task<MeshNode> StartNodeNearAsync(LocalMesh mesh, LocalMeshOptions settings, MeshNode bootstrap, NodeId near, int bits)
    {
        var directory = Path.Combine(mesh.RootDirectory, "near-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        while (true)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var id = NodeId.FromPublicKey(key.ExportSubjectPublicKeyInfo());
            if (id.DistanceTo(near).LeadingZeroCount() < bits) continue;
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            await using (var file = new FileStream(Path.Combine(directory, NodeIdentity.KeyFileName), options))
                await file.WriteAsync(key.ExportPkcs8PrivateKey()).ConfigureAwait(false);
            break;
        }

        // Not one of the mesh's own nodes, so no per-node hook applies (int.MaxValue).
        var nodeOptions = settings.ForNode(int.MaxValue, directory, 0, [bootstrap.BootstrapAddress], storeForOthers: true);
        return await MeshNode.StartAsync(nodeOptions).ConfigureAwait(false);
    }
}
