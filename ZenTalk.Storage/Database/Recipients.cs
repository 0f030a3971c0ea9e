using System.Buffers;
using System.Text;
using System.Text.Json;

namespace ZenTalk.Storage.Database;

/// <summary>
/// A message's recipients as stored in <c>messages.recipients</c>: a JSON array of ids (NULL for none), one column
/// so a page of messages reads them with no extra query, and SQLite's <c>json_each</c> can still filter by them.
/// </summary>
internal static class Recipients
{
    public static void Validate(IReadOnlyList<string>? ids, string paramName)
    {
        if (ids is null)
        {
            throw new ArgumentException("Message.RecipientIds must not be null (use an empty list).", paramName);
        }
        if (ids.Count <= 1)
        {
            if (ids.Count == 1 && string.IsNullOrWhiteSpace(ids[0]))
            {
                throw new ArgumentException("Message.RecipientIds contains an empty id.", paramName);
            }
            return;
        }
        var seen = new HashSet<string>(ids.Count, StringComparer.Ordinal);
        foreach (var id in ids)
        {
            if (string.IsNullOrWhiteSpace(id))
            {
                throw new ArgumentException("Message.RecipientIds contains an empty id.", paramName);
            }
            if (!seen.Add(id))
            {
                throw new ArgumentException($"Message.RecipientIds names '{id}' twice.", paramName);
            }
        }
    }

    public static string? Encode(IReadOnlyList<string> ids)
    {
        if (ids.Count == 0)
        {
            return null;
        }
        var buffer = new ArrayBufferWriter<byte>(16 * ids.Count + 2);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var id in ids)
            {
                writer.WriteStringValue(id);
            }
            writer.WriteEndArray();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static IReadOnlyList<string> Decode(string? json)
    {
        if (json is null)
        {
            return [];
        }
        try
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
            var ids = new List<string>();
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                throw new JsonException("not an array");
            }
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                ids.Add(reader.GetString() ?? throw new JsonException("null id"));
            }
            return ids;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new StoreCorruptedException($"A message's recipient list is not a JSON array of ids ({e.Message}). Restore the store from a backup.", e);
        }
    }
}
