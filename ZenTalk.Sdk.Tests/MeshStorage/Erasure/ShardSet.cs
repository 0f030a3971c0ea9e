namespace ZenTalk.Sdk.Tests.MeshStorage.Erasure;

/// <summary>Random shards for tests: each shard its own array, so aliasing bugs would show.</summary>
internal static class ShardSet
{
    public static byte[][] Random(int count, int length, int seed)
    {
        var random = new Random(seed);
        var shards = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            shards[i] = new byte[length];
            random.NextBytes(shards[i]);
        }

        return shards;
    }

    public static Memory<byte>[] AsMemory(byte[][] shards) => Array.ConvertAll(shards, s => new Memory<byte>(s));

    public static byte[][] Clone(byte[][] shards) => Array.ConvertAll(shards, s => (byte[])s.Clone());
}
