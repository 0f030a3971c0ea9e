namespace ZenTalk.MeshStorage.Erasure;

/// <summary>
/// A compile-time output count. Kernels are generic over it so the JIT emits one loop per count with exactly
/// that many accumulators in registers (dead accumulators and their branches vanish).
/// </summary>
internal interface IOutputCount
{
    static abstract int Value { get; }
}
