namespace ZenTalk.MeshStorage;

/// <summary>
/// The signature scheme of an owner key. The key's type decides it (one key, one scheme), and every manifest,
/// tombstone and delete request carries the key, so a reader never has to be told which scheme to check.
/// </summary>
public enum OwnerKeyAlgorithm
{
    /// <summary>
    /// RSA with a 2048- to 4096-bit modulus and public exponent 65537, signing with RSASSA-PSS (SHA-256, MGF1-SHA-256,
    /// 32-byte salt). The default (3072 bits). Signing costs a few milliseconds; checking about 0.05 ms.
    /// </summary>
    Rsa = 1,

    /// <summary>
    /// ECDSA on NIST P-256 with SHA-256; a signature is 64 bytes (r ‖ s, IEEE P1363). Signing costs about 0.1 ms, some
    /// twenty to thirty times less than RSA-3072; checking about 0.2 ms, a few times more.
    /// </summary>
    EcdsaP256 = 2,
}
