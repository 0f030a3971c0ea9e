using System.Globalization;
using System.Text;
using ZenTalk.Storage.Database;

namespace ZenTalk.Storage;

public sealed partial class SqliteMessageStore
{
    /// <inheritdoc/>
    public Task<Page<Message>> SearchMessagesAsync(string query, string? conversationId = null, int limit = 50, string? cursor = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (conversationId is not null)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        }
        CheckLimit(limit, nameof(limit));
        var before = Cursor.ParseKey(cursor, nameof(cursor));
        var match = ToMatchExpression(query);
        if (match is null)
        {
            return Task.FromResult(new Page<Message> { Items = [] });
        }
        return SearchCoreAsync(match, conversationId, limit, before, cancellationToken);
    }

    private async Task<Page<Message>> SearchCoreAsync(string match, string? conversationId, int limit, long before, CancellationToken cancellationToken)
    {
        await IndexPendingAsync(cancellationToken).ConfigureAwait(false);
        return await ReadAsync(r =>
        {
            // FTS5 walks its rowids backwards and stops after LIMIT: rowids are the time-ordered message keys, so
            // this is "newest first" without reading and sorting every match.
            var sql = conversationId is null
                ? $"""
                  SELECT {MessageColumns} FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
                  WHERE messages_fts MATCH ?1 AND messages_fts.rowid < ?2
                  ORDER BY messages_fts.rowid DESC LIMIT ?3
                  """
                : $"""
                  SELECT {MessageColumns} FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
                  WHERE messages_fts MATCH ?1 AND messages_fts.rowid < ?2 AND m.conversation_id = ?4
                  ORDER BY messages_fts.rowid DESC LIMIT ?3
                  """;
            var query = r.Raw(sql);
            query.Bind(1, match);
            query.Bind(2, before);
            query.Bind(3, limit + 1);
            if (conversationId is not null)
            {
                query.Bind(4, conversationId);
            }
            return ToPage(ReadMessages(r, query, limit + 1), limit);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Turns arbitrary user text into a safe FTS5 expression: the text is split into words the way the unicode61
    /// tokenizer splits it (letters, digits and marks form words; everything else separates), and each word becomes
    /// a quoted prefix query (<c>"word"*</c>), all of which must match. Operators, quotes, parentheses and column
    /// filters in the input are therefore plain separators. Returns <see langword="null"/> when there is no word.
    /// </summary>
    internal static string? ToMatchExpression(string query)
    {
        var expression = new StringBuilder();
        var word = new StringBuilder();
        void Flush()
        {
            if (word.Length == 0)
            {
                return;
            }
            if (expression.Length > 0)
            {
                expression.Append(' ');
            }
            // Words contain no quote characters (they are separators), so quoting needs no escaping.
            expression.Append('"').Append(word).Append("\"*");
            word.Clear();
        }
        foreach (var rune in query.EnumerateRunes())
        {
            if (IsTokenRune(rune))
            {
                word.Append(rune.ToString());
            }
            else
            {
                Flush();
            }
        }
        Flush();
        return expression.Length == 0 ? null : expression.ToString();
    }

    private static bool IsTokenRune(Rune rune) => Rune.GetUnicodeCategory(rune) switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
            or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber
            or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
            or UnicodeCategory.PrivateUse => true,
        _ => false,
    };
}
