using BenchmarkDotNet.Attributes;
using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Format;

namespace ZenTalk.Benchmarks.Crypto;

/// <summary>
/// What one owner signature costs its maker and each checker, per owner key kind: a manifest signature as a store
/// makes it (<see cref="OwnerKey.Sign"/> over the manifest context and a 1.2 KB body, the size of a one-segment
/// manifest) and its check (<see cref="OwnerPublicKey.Verify"/>, on a key parsed once, as nodes keep them), and the
/// owner key policy's check of a key's bytes (<see cref="OwnerKeyPolicy.Check"/>), which every key from a peer passes
/// before it is imported.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class OwnerSignature
{
    private OwnerKey _key = null!;
    private OwnerPublicKey _public = null!;
    private byte[] _payload = null!;
    private byte[] _signature = null!;

    /// <summary>RSA-3072 (RSASSA-PSS, the default) or ECDSA P-256.</summary>
    [Params(OwnerKeyAlgorithm.Rsa, OwnerKeyAlgorithm.EcdsaP256)]
    public OwnerKeyAlgorithm Kind { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _key = OwnerKey.Generate(Kind);
        _public = OwnerPublicKey.FromSubjectPublicKeyInfo(_key.PublicKey.SubjectPublicKeyInfo);
        _payload = Manifest.SignedPayload(new byte[1200]);
        _signature = _key.Sign(_payload);
    }

    [GlobalCleanup]
    public void Cleanup() => _key.Dispose();

    [Benchmark]
    public byte[] Sign() => _key.Sign(_payload);

    [Benchmark]
    public bool Verify() => _public.Verify(_payload, _signature);

    [Benchmark]
    public OwnerKeyAlgorithm Policy_check() => OwnerKeyPolicy.Check(_key.PublicKey.SubjectPublicKeyInfo).Algorithm;
}
