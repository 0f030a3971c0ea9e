using System.Globalization;

namespace ZenTalk.Storage.Database;

/// <summary>Encodes and parses the opaque keyset cursors handed out in <see cref="Page{T}.NextCursor"/>.</summary>
internal static class Cursor
{
    public static string FromKey(long key) => "m" + key.ToString(CultureInfo.InvariantCulture);

    public static long ParseKey(string? cursor, string paramName)
    {
        if (cursor is null)
        {
            return long.MaxValue;
        }
        if (cursor.Length > 1 && cursor[0] == 'm'
            && long.TryParse(cursor.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out var key))
        {
            return key;
        }
        throw new ArgumentException("The cursor is not one this store handed out; pass NextCursor from a previous page unchanged.", paramName);
    }

    public static string FromConversation(bool pinned, long activityKey, long rowId) =>
        string.Create(CultureInfo.InvariantCulture, $"c{(pinned ? 1 : 0)}.{activityKey}.{rowId}");

    public static (int Pinned, long ActivityKey, long RowId) ParseConversation(string? cursor, string paramName)
    {
        if (cursor is null)
        {
            return (int.MaxValue, long.MaxValue, long.MaxValue);
        }
        var parts = cursor.Length > 1 && cursor[0] == 'c' ? cursor[1..].Split('.') : [];
        if (parts.Length == 3
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pinned) && pinned is 0 or 1
            && long.TryParse(parts[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var activity)
            && long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var rowId))
        {
            return (pinned, activity, rowId);
        }
        throw new ArgumentException("The cursor is not one this store handed out; pass NextCursor from a previous page unchanged.", paramName);
    }
}
