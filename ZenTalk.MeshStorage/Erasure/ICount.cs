namespace ZenTalk.MeshStorage.Erasure;

/// <summary>
/// A compile-time count (of inputs or outputs). Kernels are generic over it so the JIT emits one loop per count with
/// exactly that many input pointers and accumulators (dead ones and their branches vanish). The instances are
/// <c>KernelDispatch.N1</c> and up.
/// </summary>
internal interface ICount
{
    static abstract int Value { get; }
}
