using System.Net;
using System.Security.Cryptography;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Dht;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;
using ZenTalk.Sdk.Tests.MeshStorage.Dht;

namespace ZenTalk.Sdk.Tests.Hardening;

/// <summary>STORE_VALUE floods and junk records, over real TLS on 127.0.0.x.</summary>
public partial class HostileDhtTests
{
    private static async Task<bool> TryStoreAsync(RpcClient from, PeerContact to, ValueRecord record)
    {
        try
        {
            await from.CallAsync(to, new Request { StoreValue = new StoreValueRequest { Record = record } }, TimeSpan.FromSeconds(30), CancellationToken.None);
            return true;
        }
        catch (MeshStorageException)
        {
            return false;
        }
    }

    [Test]
    public async Task Junk_records_from_many_identities_and_prefixes_stay_inside_the_record_budget()
    {
        var options = new DhtOptions(); // production defaults: the per-prefix limits apply to 127.x too
        using var victimId = NodeIdentity.CreateEphemeral();
        await using var victim = DhtNetworkNode.Start(victimId, new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0), Rpc, options);
        using var honestId = NodeIdentity.CreateEphemeral();
        await using var honest = new RpcClient(honestId, Rpc) { LocalBindAddress = IPAddress.Parse("127.0.0.3") };
        var kept = ValueRecords.CreateImmutable("an honest record stored before the flood"u8);
        Assert.That(await TryStoreAsync(honest, victim.Contact, kept), Is.True);
        long before = GC.GetTotalMemory(forceFullCollection: true);

        // 6 networks (/24) with 3 identities each, each identity sending 160 records of 64 KiB (10 MiB): 180 MiB of junk,
        // more than one identity, one network and the whole node may hold.
        const int Prefixes = 6, PerPrefix = 3, RecordsEach = 160, Size = 64 * 1024;
        var attackers = new List<(NodeIdentity Id, RpcClient Client)>();
        for (int p = 0; p < Prefixes; p++)
            for (int j = 0; j < PerPrefix; j++)
            {
                var id = NodeIdentity.CreateEphemeral();
                attackers.Add((id, new RpcClient(id, Rpc) { LocalBindAddress = IPAddress.Parse($"127.0.{10 + p}.{j + 1}") }));
            }
        int[] accepted = new int[attackers.Count];
        await Task.WhenAll(attackers.Select((a, i) => Task.Run(async () =>
        {
            var value = new byte[Size];
            for (int r = 0; r < RecordsEach; r++)
            {
                RandomNumberGenerator.Fill(value);
                if (await TryStoreAsync(a.Client, victim.Contact, ValueRecords.CreateImmutable(value))) accepted[i]++;
            }
        })));
        long after = GC.GetTotalMemory(forceFullCollection: true);
        foreach (var (id, client) in attackers)
        {
            await client.DisposeAsync();
            id.Dispose();
        }

        long sentBytes = (long)attackers.Count * RecordsEach * Size;
        long acceptedBytes = accepted.Sum() * (long)Size;
        TestContext.Out.WriteLine(
            $"{sentBytes >> 20} MiB of 64 KiB junk records from {attackers.Count} identities on {Prefixes} /24s: {accepted.Sum()} accepted ({acceptedBytes >> 20} MiB), "
            + $"record store {victim.Dht.Records.Count} records / {victim.Dht.Records.Bytes >> 20} MiB (budget {options.MaxRecordBytes >> 20} MiB), "
            + $"most from one identity {accepted.Max() * (long)Size >> 20} MiB, managed heap +{(after - before) >> 20} MiB");

        Assert.That(victim.Dht.Records.Bytes, Is.LessThanOrEqualTo(options.MaxRecordBytes), "the record store stays inside its byte budget");
        Assert.That(after - before, Is.LessThan(options.MaxRecordBytes + (32L << 20)), "the node's memory stays inside the record budget");
        Assert.That(accepted.Max() * (long)Size, Is.LessThanOrEqualTo(options.MaxRecordBytesPerPeer), "one identity stores at most its share");
        for (int p = 0; p < Prefixes; p++)
            Assert.That(accepted.Skip(p * PerPrefix).Take(PerPrefix).Sum() * (long)Size, Is.LessThanOrEqualTo(options.MaxRecordBytesPerPrefix),
                "one /24 stores at most its share");
        Assert.That(victim.Dht.Records.Get(new NodeId(kept.Key.Span)), Is.EqualTo(kept), "the flood evicts nothing honest");
    }

    [Test]
    public async Task Junk_without_expiry_dies_within_its_lifetime_however_often_it_is_stored_again_or_republished()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var options = new DhtOptions { AllowLoopbackClusters = true };
        using var idA = NodeIdentity.CreateEphemeral();
        using var idB = NodeIdentity.CreateEphemeral();
        await using var a = DhtNetworkNode.Start(idA, new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0), Rpc, options, time: clock);
        await using var b = DhtNetworkNode.Start(idB, new IPEndPoint(IPAddress.Parse("127.0.0.3"), 0), Rpc, options, time: clock);
        Assert.That(await a.Dht.PingAsync(b.Contact, CancellationToken.None), Is.True);
        Assert.That(await b.Dht.PingAsync(a.Contact, CancellationToken.None), Is.True);
        using var attackerId = NodeIdentity.CreateEphemeral();
        await using var attacker = new RpcClient(attackerId, Rpc) { LocalBindAddress = IPAddress.Parse("127.0.0.9") };
        var junk = ValueRecords.CreateImmutable(RandomNumberGenerator.GetBytes(1024)); // no expiry
        var key = new NodeId(junk.Key.Span);
        Assert.That(await TryStoreAsync(attacker, a.Contact, junk), Is.True);

        int aliveAt = -1;
        for (int hour = 1; hour <= 48; hour++)
        {
            clock.Advance(TimeSpan.FromHours(1));
            // The attacker stores it again every 6 hours for most of its lifetime (which must not extend it), then goes
            // away; both nodes run their hourly republish throughout.
            if (hour % 6 == 0 && hour < 24) await TryStoreAsync(attacker, a.Contact, junk);
            foreach (var n in new[] { a, b })
            {
                n.Dht.Records.RemoveExpired();
                await n.Dht.RepublishAsync();
            }
            if (a.Dht.Records.Get(key) is not null || b.Dht.Records.Get(key) is not null) aliveAt = hour;
        }
        TestContext.Out.WriteLine($"junk record without expiry, stored again every 6 h for 18 h and republished hourly by two nodes: last seen alive at hour {aliveAt} of 48 "
            + $"(lifetime {options.UnsignedRecordTtl.TotalHours:0} h)");
        Assert.That(aliveAt, Is.LessThan(options.UnsignedRecordTtl.TotalHours), "no store or republish carries junk past its lifetime");
    }

    [Test]
    public async Task A_node_takes_stores_only_for_keys_it_is_among_the_closest_to()
    {
        var options = new DhtOptions { AllowLoopbackClusters = true };
        using var victimId = NodeIdentity.CreateEphemeral();
        await using var victim = DhtNetworkNode.Start(victimId, new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0), Rpc, options);
        // The node knows 200 peers (as in a mesh of a few hundred nodes).
        var rng = new Random(71);
        var known = new List<NodeId>();
        for (int i = 0; i < 200; i++)
        {
            var id = NodeId.Random(rng);
            if (victim.Dht.Table.Update(new PeerContact(id, new IPEndPoint(IPAddress.Parse($"127.1.{i / 250}.{i % 250 + 1}"), 4001)), out _) == RoutingTable.UpdateResult.Added)
                known.Add(id);
        }
        using var attackerId = NodeIdentity.CreateEphemeral();
        await using var attacker = new RpcClient(attackerId, Rpc) { LocalBindAddress = IPAddress.Parse("127.0.0.9") };
        int accepted = 0, close = 0, wrong = 0;
        for (int i = 0; i < 200; i++)
        {
            var record = ValueRecords.CreateImmutable(RandomNumberGenerator.GetBytes(256));
            var key = new NodeId(record.Key.Span);
            int closer = known.Count(id => key.CompareDistance(id, victimId.Id) < 0);
            bool isClose = closer < options.K + options.StoreClosenessSlack;
            bool ok = await TryStoreAsync(attacker, victim.Contact, record);
            if (ok) accepted++;
            if (isClose) close++;
            if (ok != isClose) wrong++;
        }
        TestContext.Out.WriteLine($"200 stores of random keys at a node that knows {known.Count} peers: {accepted} accepted, {close} for keys it is among the {options.K + options.StoreClosenessSlack} closest known to");
        Assert.That(wrong, Is.Zero, "a store is taken exactly when the node is among the closest it knows to the key");
    }
}
