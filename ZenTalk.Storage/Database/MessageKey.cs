namespace ZenTalk.Storage.Database;

/// <summary>
/// The messages table's INTEGER PRIMARY KEY is time-ordered: send time in Unix milliseconds shifted left by
/// <see cref="SequenceBits"/>, plus a sequence number that separates messages sent in the same millisecond.
/// Ordering by this key is ordering by (sent_at, arrival), so the (sent_at, id) keyset cursor is a single
/// integer, paging walks one index, and FTS5 can return the newest matches by walking its rowids backwards
/// instead of sorting every match.
/// </summary>
internal static class MessageKey
{
    public const int SequenceBits = 20;
    public const long SequenceMask = (1L << SequenceBits) - 1;

    /// <summary>The latest send time the key can hold with room to spare: 2200-01-01.</summary>
    public static readonly DateTimeOffset MaxSentAt = new(2200, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static long Make(long unixMs, long sequence) => (unixMs << SequenceBits) | (sequence & SequenceMask);

    public static long UnixMs(long key) => key >> SequenceBits;
}
