namespace ZenTalk.MeshStorage.Erasure;

/// <summary>The <see cref="IOutputCount"/> instances 1..8 the kernels are specialised for.</summary>
internal static class OutputCount
{
    internal struct N1 : IOutputCount { public static int Value => 1; }

    internal struct N2 : IOutputCount { public static int Value => 2; }

    internal struct N3 : IOutputCount { public static int Value => 3; }

    internal struct N4 : IOutputCount { public static int Value => 4; }

    internal struct N5 : IOutputCount { public static int Value => 5; }

    internal struct N6 : IOutputCount { public static int Value => 6; }

    internal struct N7 : IOutputCount { public static int Value => 7; }

    internal struct N8 : IOutputCount { public static int Value => 8; }
}
