using System.Security.Cryptography;

namespace ZenTalk.Testnet.Hosts;

/// <summary>The bytes of a test file, made from a seed, so the coordinator knows their hash without sending them.</summary>
internal static class Payload
{
    public static byte[] Generate(int seed, int size)
    {
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        return data;
    }

    public static string Sha256Of(int seed, int size) => Convert.ToHexStringLower(SHA256.HashData(Generate(seed, size)));
}
