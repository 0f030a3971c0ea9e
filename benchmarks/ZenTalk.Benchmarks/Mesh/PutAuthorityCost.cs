using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Benchmarks.Mesh;

/// <summary>
/// What the owner's authority for a streamed file's segments costs (docs/security.md, "Admission and accounting"),
/// as built and as the alternatives would: an owner signature per segment (RSA-3072 PSS, the baseline), a grant per
/// segment signed by an ephemeral session key (ECDSA P-256) and checked by each holder, and the built design: one
/// delegation to the uploading node per store, which each holder checks once (RSA-3072 verify) and then, per put,
/// finds in its cache and matches against the sender's TLS-proven node id.
/// <code>dotnet run -c Release --project benchmarks/ZenTalk.Benchmarks -- --filter '*PutAuthorityCost*' --job short --inProcess</code>
/// </summary>
[MemoryDiagnoser]
public class PutAuthorityCost
{
    private const int ShardSize = 104_874; // a 1 MiB segment's shards (10 + 5)

    private OwnerKey _owner = null!;
    private ECDsa _session = null!;
    private byte[] _grantPayload = null!;
    private byte[] _grantSignature = null!;
    private NodeId _uploader;
    private PutShardRequest _put = null!;
    private Sha256Hash _hash;
    private StoreDelegation _delegation = null!;
    private byte[] _delegationPayload = null!;
    private string _directory = null!;
    private FileIndex _files = null!;
    private ShardAdmission _admission = null!;

    [GlobalSetup]
    public void Setup()
    {
        _owner = OwnerKey.Generate();
        _session = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        // A grant's signed bytes: context, delegation digest, shard size, count, 15 shard hashes (about 540 bytes).
        _grantPayload = RandomNumberGenerator.GetBytes(25 + 32 + 8 + (15 * 32));
        _grantSignature = _session.SignData(_grantPayload, HashAlgorithmName.SHA256);
        _uploader = NodeId.Random();
        _delegation = StoreDelegations.Create(_owner, _uploader, 0, DateTimeOffset.UtcNow.AddHours(6));
        _delegationPayload = StoreDelegations.Payload(_delegation);
        _hash = Sha256Hash.Compute([1]);
        _put = new PutShardRequest { ShardHash = ByteString.CopyFrom(_hash.ToArray()), Delegation = _delegation };
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

    /// <summary>What a session-key grant per segment would cost the uploader.</summary>
    [Benchmark]
    public byte[] Session_key_grant_per_segment() => _session.SignData(_grantPayload, HashAlgorithmName.SHA256);

    /// <summary>What a session-key grant would cost each holder, per put.</summary>
    [Benchmark]
    public bool Holder_checks_a_grant() => _session.VerifyData(_grantPayload, _grantSignature, HashAlgorithmName.SHA256);

    /// <summary>What the built design costs each holder per put: the delegation, verified before, found by fingerprint.</summary>
    [Benchmark]
    public bool Holder_checks_a_delegated_put() => _admission.Authorize(_put, _hash, ShardSize, _uploader).ExpiresAt is null;

    /// <summary>The delegation's owner signature: once per store per holder, then cached.</summary>
    [Benchmark]
    public bool Holder_checks_a_delegation() =>
        OwnerPublicKey.FromSubjectPublicKeyInfo(_delegation.OwnerPublicKey.Span).Verify(_delegationPayload, _delegation.Signature.Span);
}
