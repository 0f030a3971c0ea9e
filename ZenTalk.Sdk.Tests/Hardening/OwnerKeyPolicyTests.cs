using System.Globalization;
using Google.Protobuf;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;
using ZenTalk.Sdk.Tests.Hardening.Drivers;

namespace ZenTalk.Sdk.Tests.Hardening;

/// <summary>
/// Owner public keys that arrive from a peer (delete requests, tombstones, manifests, shard puts) are held to the
/// owner key policy before anything costly runs: a made-up RSA key with a 16,384-bit modulus or a 3,072-bit exponent
/// costs its sender nothing and its verifier a large modular exponentiation per request. A storing node runs alone in a
/// child process (so its CPU time is its own), and an attacker with its own TLS identity sends it such keys.
/// </summary>
[TestFixture]
[CancelAfter(180_000)]
public class OwnerKeyPolicyTests
{
    private const string PolicyRefusal = "owner public key is refused";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private string _dir = null!;
    private NodeChild _node = null!;
    private NodeIdentity _attackerId = null!;
    private RpcClient _attacker = null!;

    /// <summary>Keys outside the policy: each costs a verifier far more than an honest key, or is simply not allowed.</summary>
    private static readonly BogusOwnerKey[] Hostile =
    [
        BogusOwnerKey.Rsa("RSA-16384, e = 65537", 16384, BogusOwnerKey.F4),
        BogusOwnerKey.Rsa("RSA-16384, 64-bit exponent", 16384, BogusOwnerKey.LargeExponent(64)),
        BogusOwnerKey.Rsa("RSA-3072, 3071-bit exponent", 3072, BogusOwnerKey.LargeExponent(3072)),
        BogusOwnerKey.Rsa("RSA-2048, 2047-bit exponent", 2048, BogusOwnerKey.LargeExponent(2048)),
        BogusOwnerKey.Rsa("RSA-4608, e = 65537", 4608, BogusOwnerKey.F4),
        BogusOwnerKey.Rsa("RSA-2048, e = 3", 2048, [3]),
        BogusOwnerKey.Rsa("RSA-1024, e = 65537", 1024, BogusOwnerKey.F4),
    ];

    /// <summary>A key of honest shape (3072 bits, e = 65537) with a wrong signature: what any stranger can always send.</summary>
    private static readonly BogusOwnerKey HonestShape = BogusOwnerKey.Rsa("RSA-3072, e = 65537 (honest shape)", 3072, BogusOwnerKey.F4);

    [OneTimeSetUp]
    public async Task StartNode()
    {
        _dir = Path.Combine(Path.GetTempPath(), "zt-ownerkey-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        _node = await NodeChild.StartAsync(CrashChild.DefaultPath, _dir);
        _attackerId = NodeIdentity.CreateEphemeral();
        _attacker = new RpcClient(_attackerId, new RpcOptions { DefaultCallTimeout = Deadline });
    }

    [OneTimeTearDown]
    public async Task StopNode()
    {
        await _attacker.DisposeAsync();
        _attackerId.Dispose();
        await _node.DisposeAsync();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private async Task<MeshStorageException?> Refusal(Request request, CancellationToken cancellationToken)
    {
        try
        {
            await _attacker.CallAsync(_node.EndPoint, _node.Id, request, Deadline, cancellationToken);
            return null;
        }
        catch (MeshStorageException e)
        {
            return e;
        }
    }

    /// <summary>
    /// Sends <paramref name="count"/> requests one after another; returns the victim's CPU and the wall time per request,
    /// and the refusals. The CPU time comes in clock ticks (10 ms on Linux), so a figure is only as fine as 10 ms / count.
    /// </summary>
    private async Task<(double CpuMs, double WallMs, List<MeshStorageException?> Refusals)> Flood(Func<Request> make, int count, CancellationToken cancellationToken)
    {
        var requests = Enumerable.Range(0, count).Select(_ => make()).ToList();
        await Refusal(new Request { Ping = new PingRequest() }, cancellationToken); // the connection is up before the clock starts
        var before = _node.ProcessorTime;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var refusals = new List<MeshStorageException?>(count);
        foreach (var request in requests) refusals.Add(await Refusal(request, cancellationToken));
        var cpu = _node.ProcessorTime - before;
        return (cpu.TotalMilliseconds / count, clock.Elapsed.TotalMilliseconds / count, refusals);
    }

    [Test]
    public async Task Delete_requests_with_oversized_or_odd_rsa_keys_are_refused_by_the_key_policy_before_any_signature_check(CancellationToken cancellationToken)
    {
        const int Count = 200;
        // The node's delete path runs (and is compiled) before anything is measured.
        await Flood(() => new Request { DeleteShards = HonestShape.Delete(_node.Id, DateTimeOffset.UtcNow) }, 20, cancellationToken);
        var reference = await Flood(() => new Request { DeleteShards = HonestShape.Delete(_node.Id, DateTimeOffset.UtcNow) }, Count, cancellationToken);
        TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{HonestShape}: victim CPU {reference.CpuMs:F2} ms, wall {reference.WallMs:F2} ms per refused delete"));
        var results = new List<(BogusOwnerKey Key, List<MeshStorageException?> Refusals)>();
        foreach (var key in Hostile)
        {
            var (cpu, wall, refusals) = await Flood(() => new Request { DeleteShards = key.Delete(_node.Id, DateTimeOffset.UtcNow) }, Count, cancellationToken);
            TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{key}: victim CPU {cpu:F2} ms, wall {wall:F2} ms per refused delete ({refusals[0]?.Message})"));
            results.Add((key, refusals));
        }

        Assert.That(reference.Refusals, Is.All.InstanceOf<UnauthorizedOperationException>());
        Assert.That(reference.Refusals.Select(r => r!.Message), Is.All.Contain("signature does not verify"), "an honest-shaped key reaches the signature check");
        foreach (var (key, refusals) in results)
        {
            Assert.That(refusals, Is.All.InstanceOf<UnauthorizedOperationException>(), key.Name);
            Assert.That(refusals.Select(r => r!.Message), Is.All.Contain(PolicyRefusal), key.Name);
        }

        await TheNodeStillServesAnHonestOwner(cancellationToken);
    }

    [Test]
    public async Task Tombstones_and_manifests_naming_such_keys_are_refused_by_the_key_policy(CancellationToken cancellationToken)
    {
        const int Count = 50;
        foreach (var key in Hostile)
        {
            var tombstones = await Flood(() => new Request { StoreValue = new StoreValueRequest { Record = key.Tombstone(DateTimeOffset.UtcNow) } }, Count, cancellationToken);
            var manifests = await Flood(() => new Request { StoreValue = new StoreValueRequest { Record = key.Manifest(DateTimeOffset.UtcNow) } }, Count, cancellationToken);
            TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{key}: victim CPU {tombstones.CpuMs:F2} ms per tombstone, {manifests.CpuMs:F2} ms per manifest ({tombstones.Refusals[0]?.Message})"));
            Assert.That(tombstones.Refusals.Concat(manifests.Refusals), Is.All.InstanceOf<IntegrityException>(), key.Name);
            Assert.That(tombstones.Refusals.Concat(manifests.Refusals).Select(r => r!.Message), Is.All.Contain(PolicyRefusal), key.Name);
        }

        await TheNodeStillServesAnHonestOwner(cancellationToken);
    }

    [Test]
    public async Task Shard_puts_under_a_store_delegation_by_such_a_key_are_refused_and_nothing_is_kept(CancellationToken cancellationToken)
    {
        const int Count = 50;
        foreach (var key in Hostile)
        {
            var put = key.Put(DateTimeOffset.UtcNow, _attackerId.Id);
            var refusal = await Refusal(new Request { PutShard = put }, cancellationToken);
            Assert.That(refusal, Is.InstanceOf<UnauthorizedOperationException>(), key.Name + ": refused");
            Assert.That(refusal!.Message, Does.Contain(PolicyRefusal), key.Name);
            var has = new HasShardsRequest();
            has.ShardHashes.Add(put.ShardHash);
            var answer = await _attacker.CallAsync(_node.EndPoint, _node.Id, new Request { HasShards = has }, Deadline, cancellationToken);
            Assert.That(answer.HasShards.Present, Is.EqualTo(new[] { false }), key.Name + ": not kept");
            var puts = await Flood(() => new Request { PutShard = key.Put(DateTimeOffset.UtcNow, _attackerId.Id) }, Count, cancellationToken);
            TestContext.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{key}: victim CPU {puts.CpuMs:F2} ms per put under its store delegation ({puts.Refusals[0]?.Message})"));
            Assert.That(puts.Refusals.Select(r => r?.Message), Is.All.Contain(PolicyRefusal), key.Name);
        }
    }

    /// <summary>After the hostile requests, a genuine owner's delete is still checked and answered.</summary>
    private async Task TheNodeStillServesAnHonestOwner(CancellationToken cancellationToken)
    {
        using var owner = OwnerKey.Generate(2048);
        var delete = DeleteAuthorization.Create(owner, _node.Id, [Sha256Hash.Compute("nothing stored"u8)], DateTimeOffset.UtcNow);
        var answer = await _attacker.CallAsync(_node.EndPoint, _node.Id, new Request { DeleteShards = delete }, Deadline, cancellationToken);
        Assert.That(answer.DeleteShards.Deleted, Is.Zero, "an honest delete is verified and answered");
    }
}
