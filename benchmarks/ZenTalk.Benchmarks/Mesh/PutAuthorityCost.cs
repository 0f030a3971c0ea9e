using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Benchmarks.Mesh;

/// <summary>
/// What the owner's authority for one streamed segment costs (docs/security.md, "Admission and accounting"): the
/// uploader's signature per segment, as a segment grant by the session key (ECDSA P-256) against an owner signature per
/// segment (RSA-3072 PSS, the baseline that design would pay), and a holder's check of a grant it has not seen
/// (ECDSA verify, hash lookup) and of the store's delegation (RSA-3072 verify, once per store per holder).
/// <code>dotnet run -c Release --project benchmarks/ZenTalk.Benchmarks -- --filter '*PutAuthorityCost*'</code>
/// </summary>
[MemoryDiagnoser]
public class PutAuthorityCost
{
    private const int ShardSize = 104_874; // a 1 MiB segment's shards (10 + 5)
    private const int Grants = 4096;       // more than a holder caches, so each check is a cold one

    private OwnerKey _owner = null!;
    private StoreSession _session = null!;
    private Sha256Hash[] _hashes = null!;
    private byte[] _grantPayload = null!;
    private PutShardRequest[] _puts = null!;
    private StoreDelegation _delegation = null!;
    private byte[] _delegationPayload = null!;
    private string _directory = null!;
    private FileIndex _files = null!;
    private ShardAdmission _admission = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        _owner = OwnerKey.Create();
        _session = new StoreSession(_owner, 0, TimeProvider.System);
        _hashes = Enumerable.Range(0, 15).Select(i => Sha256Hash.Compute([(byte)i])).ToArray();
        _grantPayload = StoreGrants.GrantPayload(new byte[32], ShardSize, _hashes.SelectMany(h => h.ToArray()).ToArray());
        _puts = Enumerable.Range(0, Grants).Select(i =>
        {
            var hashes = Enumerable.Range(0, 15).Select(j => Sha256Hash.Compute(BitConverter.GetBytes((i * 15) + j))).ToArray();
            return new PutShardRequest { ShardHash = ByteString.CopyFrom(hashes[i % 15].ToArray()), Grant = _session.Grant(ShardSize, hashes) };
        }).ToArray();
        _delegation = _puts[0].Grant.Delegation;
        _delegationPayload = StoreGrants.DelegationPayload(_delegation);
        _directory = Path.Combine(Path.GetTempPath(), "zentalk-bench-authority-" + Guid.NewGuid().ToString("N"));
        _files = new FileIndex(_directory, null, NullLogger.Instance);
        _files.Load();
        _admission = new ShardAdmission(_files, TimeProvider.System);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _files.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_directory, recursive: true);
        _session.Dispose();
        _owner.Dispose();
    }

    /// <summary>What an owner signature per segment would cost the uploader.</summary>
    [Benchmark(Baseline = true)]
    public byte[] Owner_signature_per_segment() => _owner.Sign(_grantPayload);

    /// <summary>What a segment grant costs the uploader.</summary>
    [Benchmark]
    public int Segment_grant() => _session.Grant(ShardSize, _hashes).Signature.Length;

    /// <summary>A holder's check of a put's grant it has not seen before (the delegation is cached).</summary>
    [Benchmark]
    public bool Holder_checks_a_grant()
    {
        var put = _puts[_next++ % Grants];
        return _admission.Authorize(put, new Sha256Hash(put.ShardHash.Span), ShardSize).ExpiresAt is null;
    }

    /// <summary>A holder's check of the delegation's owner signature: once per store, then cached.</summary>
    [Benchmark]
    public bool Holder_checks_a_delegation() =>
        OwnerPublicKey.FromSubjectPublicKeyInfo(_delegation.OwnerPublicKey.Span).Verify(_delegationPayload, _delegation.Signature.Span);
}
