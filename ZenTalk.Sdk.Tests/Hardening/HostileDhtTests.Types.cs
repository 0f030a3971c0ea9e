using System.Net;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Format;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;
using ZenTalk.Sdk.Tests.Hardening.Drivers;

namespace ZenTalk.Sdk.Tests.Hardening;

/// <summary>A record of another type under a file's CID, over real TLS on 127.0.0.x.</summary>
public partial class HostileDhtTests
{
    private static RecordValidatorRegistry FileRecordRegistry()
    {
        var registry = new RecordValidatorRegistry();
        registry.Register(FileRecords.Type, FileRecordValidator.Instance);
        return registry;
    }

    [Test]
    public async Task An_untyped_copy_of_a_manifest_under_its_cid_neither_shadows_the_file_record_at_a_node_nor_ends_a_lookup()
    {
        var options = new DhtOptions { AllowLoopbackClusters = true };
        var ids = Enumerable.Range(0, 3).Select(_ => NodeIdentity.CreateEphemeral()).ToList();
        var nodes = ids.Select((id, i) => DhtNetworkNode.Start(id, new IPEndPoint(IPAddress.Parse($"127.0.0.{2 + i}"), 0), Rpc, options, FileRecordRegistry())).ToList();
        try
        {
            var (front, holder, reader) = (nodes[0], nodes[1], nodes[2]);
            using var owner = OwnerKey.Generate(2048);
            var content = new byte[3 * Manifest.MinSegmentSize];
            Random.Shared.NextBytes(content);
            var manifest = await new FileEncoder(new FileCodecOptions { SegmentSize = Manifest.MinSegmentSize })
                .EncodeAsync(new MemoryStream(content), ContentKey.Generate(), owner, new NoShards());
            var file = FileRecords.ForManifest(manifest);
            // The manifest's bytes hash to its CID: as an IMMUTABLE type-0 record they land under the file's key.
            var shadow = ValueRecords.CreateImmutable(manifest.Bytes.Span);
            Assert.That(shadow.Key, Is.EqualTo(file.Key));
            var key = new NodeId(file.Key.Span);

            // A liar near the CID answers every FIND_VALUE with the shadow.
            using var liarId = NodeIdentity.CreateEphemeral();
            await using var liar = new RpcServer(liarId, Rpc, new LyingDhtHandler(_ => []) { Record = k => k == key ? shadow : null });
            liar.Start(new IPEndPoint(IPAddress.Parse("127.0.0.9"), 0));

            // The attacker reaches the front node first; the file record follows (as a republish would).
            using var attackerId = NodeIdentity.CreateEphemeral();
            await using var attacker = new RpcClient(attackerId, Rpc) { LocalBindAddress = IPAddress.Parse("127.0.0.8") };
            Assert.That(await TryStoreAsync(attacker, front.Contact, shadow), Is.True, "nothing else is under the key yet");
            Assert.That(await TryStoreAsync(attacker, front.Contact, file), Is.True);
            Assert.That(await TryStoreAsync(attacker, holder.Contact, file), Is.True);
            bool shadowRefused = !await TryStoreAsync(attacker, front.Contact, shadow);

            // The reader knows the front node and the liar; only the front node knows the holder.
            Assert.That(await front.Dht.PingAsync(holder.Contact, CancellationToken.None), Is.True);
            Assert.That(await reader.Dht.PingAsync(front.Contact, CancellationToken.None), Is.True);
            Assert.That(await reader.Dht.PingAsync(new PeerContact(liarId.Id, liar.LocalEndPoint), CancellationToken.None), Is.True);
            var lookups = new List<ValueRecord?>();
            for (int i = 0; i < 5; i++) lookups.Add((await NodeLookup.RunAsync(reader.Dht, key, wantValue: true, CancellationToken.None)).Record);
            var atFront = front.Dht.Records.Get(key);
            TestContext.Out.WriteLine($"an IMMUTABLE copy of a manifest under its CID: the front node holds type {atFront?.Type}, the shadow stored again is "
                + $"{(shadowRefused ? "refused" : "accepted")}; {lookups.Count(r => r?.Type == FileRecords.Type)} of 5 lookups (the liar and the front node answer first, the holder only when asked) end with the file record");
            Assert.That(atFront, Is.EqualTo(file), "the file record takes the key from the untyped copy");
            Assert.That(shadowRefused, Is.True, "a key that holds a file record takes no record of another type");
            Assert.That(lookups, Has.All.EqualTo(file), "a lookup does not stop at the untyped copy, and the file record wins");
        }
        finally
        {
            await Task.WhenAll(nodes.Select(n => n.DisposeAsync().AsTask()));
            foreach (var id in ids) id.Dispose();
        }
    }

    private sealed class NoShards : IShardSink
    {
        public ValueTask WriteSegmentAsync(EncodedSegment segment, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
