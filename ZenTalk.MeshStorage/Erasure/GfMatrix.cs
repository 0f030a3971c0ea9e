namespace ZenTalk.MeshStorage.Erasure;

/// <summary>A dense matrix over GF(2^8), row-major. Only used at construction and for decode plans, never per byte.</summary>
internal sealed class GfMatrix
{
    private readonly byte[] _data;

    public GfMatrix(int rows, int columns)
    {
        Rows = rows;
        Columns = columns;
        _data = new byte[rows * columns];
    }

    public int Rows { get; }

    public int Columns { get; }

    public byte this[int row, int column]
    {
        get => _data[row * Columns + column];
        set => _data[row * Columns + column] = value;
    }

    public ReadOnlySpan<byte> Row(int row) => _data.AsSpan(row * Columns, Columns);

    public static GfMatrix Identity(int size)
    {
        var m = new GfMatrix(size, size);
        for (int i = 0; i < size; i++)
        {
            m[i, i] = 1;
        }

        return m;
    }

    /// <summary>
    /// The systematic encoding matrix of Backblaze JavaReedSolomon and klauspost/reedsolomon: the Vandermonde
    /// matrix v[r, c] = r^c (total × data), multiplied by the inverse of its top square so the top becomes the
    /// identity. Any data × data submatrix of the result is invertible.
    /// </summary>
    public static GfMatrix Vandermonde(int dataShards, int totalShards)
    {
        var vandermonde = new GfMatrix(totalShards, dataShards);
        for (int r = 0; r < totalShards; r++)
        {
            for (int c = 0; c < dataShards; c++)
            {
                vandermonde[r, c] = GaloisField.Pow((byte)r, c);
            }
        }

        GfMatrix top = vandermonde.SubRows(0, dataShards);
        return vandermonde.Multiply(top.Invert());
    }

    /// <summary>
    /// The systematic Cauchy matrix of ISA-L's gf_gen_cauchy1_matrix and klauspost's WithCauchyMatrix: identity on
    /// top, then m[r, c] = 1 / (r XOR c).
    /// </summary>
    public static GfMatrix Cauchy(int dataShards, int totalShards)
    {
        var m = new GfMatrix(totalShards, dataShards);
        for (int r = 0; r < totalShards; r++)
        {
            for (int c = 0; c < dataShards; c++)
            {
                m[r, c] = r < dataShards ? (byte)(r == c ? 1 : 0) : GaloisField.Inverse((byte)(r ^ c));
            }
        }

        return m;
    }

    /// <summary>Rows [start, start + count) as a new matrix.</summary>
    public GfMatrix SubRows(int start, int count)
    {
        var m = new GfMatrix(count, Columns);
        _data.AsSpan(start * Columns, count * Columns).CopyTo(m._data);
        return m;
    }

    /// <summary>A new matrix made of the given rows of this one, in that order.</summary>
    public GfMatrix SelectRows(ReadOnlySpan<int> rows)
    {
        var m = new GfMatrix(rows.Length, Columns);
        for (int i = 0; i < rows.Length; i++)
        {
            Row(rows[i]).CopyTo(m._data.AsSpan(i * Columns, Columns));
        }

        return m;
    }

    public GfMatrix Multiply(GfMatrix right)
    {
        if (Columns != right.Rows)
        {
            throw new ArgumentException($"Cannot multiply a {Rows}x{Columns} matrix by a {right.Rows}x{right.Columns} one.", nameof(right));
        }

        var result = new GfMatrix(Rows, right.Columns);
        for (int r = 0; r < Rows; r++)
        {
            for (int c = 0; c < right.Columns; c++)
            {
                byte value = 0;
                for (int i = 0; i < Columns; i++)
                {
                    value ^= GaloisField.Mul(this[r, i], right[i, c]);
                }

                result[r, c] = value;
            }
        }

        return result;
    }

    /// <summary>The inverse by Gauss-Jordan elimination.</summary>
    /// <exception cref="InvalidOperationException">The matrix is not square or is singular.</exception>
    public GfMatrix Invert()
    {
        if (Rows != Columns)
        {
            throw new InvalidOperationException($"Only square matrices can be inverted; this one is {Rows}x{Columns}.");
        }

        int n = Rows;
        var work = new GfMatrix(n, n);
        _data.CopyTo(work._data, 0);
        GfMatrix inverse = Identity(n);

        for (int col = 0; col < n; col++)
        {
            int pivot = col;
            while (pivot < n && work[pivot, col] == 0)
            {
                pivot++;
            }

            if (pivot == n)
            {
                throw new InvalidOperationException("The matrix is singular.");
            }

            if (pivot != col)
            {
                work.SwapRows(pivot, col);
                inverse.SwapRows(pivot, col);
            }

            byte scale = GaloisField.Inverse(work[col, col]);
            if (scale != 1)
            {
                work.ScaleRow(col, scale);
                inverse.ScaleRow(col, scale);
            }

            for (int r = 0; r < n; r++)
            {
                byte factor = work[r, col];
                if (r != col && factor != 0)
                {
                    work.AddScaledRow(r, col, factor);
                    inverse.AddScaledRow(r, col, factor);
                }
            }
        }

        return inverse;
    }

    private void SwapRows(int a, int b)
    {
        Span<byte> ra = _data.AsSpan(a * Columns, Columns);
        Span<byte> rb = _data.AsSpan(b * Columns, Columns);
        for (int i = 0; i < Columns; i++)
        {
            (ra[i], rb[i]) = (rb[i], ra[i]);
        }
    }

    private void ScaleRow(int row, byte factor)
    {
        Span<byte> r = _data.AsSpan(row * Columns, Columns);
        for (int i = 0; i < r.Length; i++)
        {
            r[i] = GaloisField.Mul(r[i], factor);
        }
    }

    // row[target] += factor * row[source]
    private void AddScaledRow(int target, int source, byte factor)
    {
        Span<byte> t = _data.AsSpan(target * Columns, Columns);
        ReadOnlySpan<byte> s = _data.AsSpan(source * Columns, Columns);
        for (int i = 0; i < t.Length; i++)
        {
            t[i] ^= GaloisField.Mul(s[i], factor);
        }
    }
}
