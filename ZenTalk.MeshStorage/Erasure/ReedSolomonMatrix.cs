namespace ZenTalk.MeshStorage.Erasure;

/// <summary>Which systematic encoding matrix a <see cref="ReedSolomon"/> codec uses. Shards only interoperate between codecs using the same one.</summary>
public enum ReedSolomonMatrix
{
    /// <summary>
    /// The default: Backblaze JavaReedSolomon's and klauspost/reedsolomon's Vandermonde-derived matrix; parity is
    /// byte-identical to theirs.
    /// </summary>
    Vandermonde = 0,

    /// <summary>
    /// The Cauchy matrix 1 / (r XOR c) under an identity, as in ISA-L's <c>gf_gen_cauchy1_matrix</c> and
    /// klauspost's <c>WithCauchyMatrix</c>; parity is byte-identical to theirs.
    /// </summary>
    Cauchy = 1,
}
