using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ZenTalk.StorageNode;

/// <summary>
/// The signed-request scheme of <c>DELETE /delete/{cid}</c> (docs/rest-api.md, "Signed requests"): the owner signs
/// <c>ZENTALK-REST-v1\nDELETE\n/delete/{cid}\n{timestamp}\n{nonce}</c> with RSASSA-PSS (SHA-256, 32-byte salt) and
/// sends the signature, the timestamp and the nonce in headers. The node accepts it only under its owner key,
/// within five minutes of its own clock, and only once per nonce.
/// </summary>
internal static class DeleteSignature
{
    public const string TimestampHeader = "X-ZenTalk-Timestamp";
    public const string NonceHeader = "X-ZenTalk-Nonce";
    public const string SignatureHeader = "X-ZenTalk-Signature";
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(5);

    public static byte[] CanonicalRequest(string method, string path, long timestamp, string nonce) =>
        Encoding.UTF8.GetBytes($"ZENTALK-REST-v1\n{method}\n{path}\n{timestamp.ToString(CultureInfo.InvariantCulture)}\n{nonce}");

    /// <summary>Signs a delete as a client does; <paramref name="ownerPrivateKeyPem"/> is the owner key's PKCS#8 PEM.</summary>
    public static (string Timestamp, string Nonce, string Signature) Sign(string ownerPrivateKeyPem, string cid, DateTimeOffset now)
    {
        using var rsa = RSA.Create();
        rsa.ImportFromPem(ownerPrivateKeyPem);
        var timestamp = now.ToUnixTimeSeconds();
        var nonce = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(16));
        var signature = rsa.SignData(CanonicalRequest("DELETE", $"/delete/{cid}", timestamp, nonce), HashAlgorithmName.SHA256, RSASignaturePadding.Pss);
        return (timestamp.ToString(CultureInfo.InvariantCulture), nonce, Convert.ToBase64String(signature));
    }

    public static bool IsWellFormedNonce(string nonce) =>
        nonce.Length is >= 16 and <= 64 && nonce.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');
}
