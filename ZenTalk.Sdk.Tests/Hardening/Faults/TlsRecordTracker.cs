namespace ZenTalk.Sdk.Tests.Hardening.Faults;

/// <summary>
/// Follows the TLS record boundaries in one direction of a connection (5-byte header: type, version, 2-byte length),
/// so faults can be placed exactly: a cut strictly inside a record's body, a reorder of whole records.
/// </summary>
internal struct TlsRecordTracker
{
    private int _headerHave;
    private int _length;
    private int _bodyLeft;
    private byte _firstByte;

    /// <summary>True when the next byte starts a new record.</summary>
    public readonly bool AtBoundary => _headerHave == 0 && _bodyLeft == 0;

    /// <summary>Consumes <paramref name="data"/>; returns how many complete records ended inside it.</summary>
    public int Advance(ReadOnlySpan<byte> data)
    {
        int ended = 0;
        int i = 0;
        while (i < data.Length)
        {
            if (_bodyLeft > 0)
            {
                int take = Math.Min(_bodyLeft, data.Length - i);
                _bodyLeft -= take;
                i += take;
                if (_bodyLeft == 0) ended++;
                continue;
            }
            if (_headerHave == 0) _firstByte = data[i];
            if (_headerHave == 3) _length = data[i] << 8;
            if (_headerHave == 4) _length |= data[i];
            _headerHave++;
            i++;
            if (_headerHave == 5)
            {
                _headerHave = 0;
                _bodyLeft = _length;
                if (_bodyLeft == 0) ended++;
            }
        }
        return ended;
    }

    /// <summary>
    /// An offset into <paramref name="data"/> that falls strictly inside a record's body (at least one body byte
    /// before and after it), or -1 when the chunk has none. Does not advance.
    /// </summary>
    public readonly int MidBodyOffset(ReadOnlySpan<byte> data)
    {
        var probe = this;
        for (int i = 0; i < data.Length; i++)
        {
            if (probe._bodyLeft > 1 && probe._bodyLeft < probe._length) return i;
            probe.Advance(data.Slice(i, 1));
        }
        return -1;
    }

    /// <summary>Whether <paramref name="data"/>, starting at a boundary, holds only complete application-data records.</summary>
    public readonly bool IsWholeApplicationRecords(ReadOnlySpan<byte> data)
    {
        if (!AtBoundary || data.Length < 5 || data[0] != 0x17) return false;
        var probe = this;
        probe.Advance(data);
        return probe.AtBoundary && probe._firstByte == 0x17;
    }
}
