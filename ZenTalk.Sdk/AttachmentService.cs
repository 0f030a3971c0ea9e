using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ZenTalk.MeshStorage;
using ZenTalk.Storage;

namespace ZenTalk.Sdk;

/// <summary>
/// Sends files as message attachments and opens them again. Small files stay local: a file of at most
/// <see cref="AttachmentServiceOptions.MaxInlineSize"/> bytes (64 KiB by default) is kept inline in the message store.
/// Large files go to the mesh (encrypted, erasure-coded), and the message carries the reference (CID, key). Either
/// way the message records the name, MIME type, size and SHA-256.
/// </summary>
/// <remarks>
/// Sending is one operation: if the upload fails, no message is saved; if the message cannot be saved, the upload
/// is deleted again. The service owns neither the store, the mesh nor the key: dispose those yourself. Safe to use
/// from many threads at once.
/// </remarks>
public sealed class AttachmentService
{
    private readonly IMessageRepository _store;
    private readonly IMeshStore _mesh;
    private readonly OwnerKey _owner;
    private readonly AttachmentServiceOptions _options;
    private readonly string _senderId;
    private readonly ILogger _logger;

    /// <summary>Creates the service for one user.</summary>
    /// <param name="store">The user's messages (an <see cref="IMessageStore"/> such as <see cref="SqliteMessageStore"/> is one).</param>
    /// <param name="mesh">The mesh the files go to (e.g. <c>MeshNode.Store</c>).</param>
    /// <param name="owner">The user's owner key: it signs uploads, and only it can delete them.</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentNullException">A required argument is null.</exception>
    public AttachmentService(IMessageRepository store, IMeshStore mesh, OwnerKey owner, AttachmentServiceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(mesh);
        ArgumentNullException.ThrowIfNull(owner);
        options ??= new AttachmentServiceOptions();
        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options) + "." + nameof(options.TimeProvider));
        if (options.RollbackTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.RollbackTimeout, "RollbackTimeout must be positive.");
        }
        if (options.MaxInlineSize is < 0 or > AttachmentServiceOptions.MaxInlineSizeLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxInlineSize,
                $"MaxInlineSize must be between 0 and {AttachmentServiceOptions.MaxInlineSizeLimit}.");
        }
        _store = store;
        _mesh = mesh;
        _owner = owner;
        _options = options;
        _senderId = string.IsNullOrWhiteSpace(options.SenderId) ? owner.PublicKey.Id : options.SenderId;
        _logger = (options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger<AttachmentService>();
    }

    /// <summary>
    /// Saves an outgoing message carrying <paramref name="content"/> in <paramref name="conversationId"/>: inline
    /// when the file has at most <see cref="AttachmentServiceOptions.MaxInlineSize"/> bytes, otherwise uploaded to
    /// the mesh first, as one operation.
    /// </summary>
    /// <param name="conversationId">The conversation the message belongs to.</param>
    /// <param name="content">The file, read once from its current position to its end; it is not closed.</param>
    /// <param name="fileName">The file name shown to the recipient (no directory).</param>
    /// <param name="mimeType">The file's MIME type, e.g. <c>image/png</c>.</param>
    /// <param name="caption">Text sent with the file; empty when <see langword="null"/>.</param>
    /// <param name="progress">Receives upload progress (mesh uploads only); may be null.</param>
    /// <param name="cancellationToken">Cancels the send; nothing is left behind (no message, no upload).</param>
    /// <returns>
    /// The saved message; its single attachment holds either the file itself (<see cref="Attachment.IsInline"/>) or
    /// the CID and content key the recipient needs.
    /// </returns>
    /// <exception cref="ArgumentException">An argument is empty or the stream is not readable.</exception>
    /// <exception cref="MeshStorageException">The upload failed; no message was saved.</exception>
    /// <exception cref="MessageStoreException">The message could not be saved; the upload was deleted again.</exception>
    public async Task<Message> SendAttachmentAsync(string conversationId, Stream content, string fileName, string mimeType,
        string? caption = null, IProgress<TransferProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(conversationId);
        ArgumentNullException.ThrowIfNull(content);
        ArgumentException.ThrowIfNullOrWhiteSpace(fileName);
        ArgumentException.ThrowIfNullOrWhiteSpace(mimeType);
        if (!content.CanRead)
        {
            throw new ArgumentException("The content stream must be readable.", nameof(content));
        }
        if (fileName.AsSpan().IndexOfAny('/', '\\') >= 0)
        {
            throw new ArgumentException("The file name must not contain a directory.", nameof(fileName));
        }

        // Read one byte past the threshold: that alone tells a small file from a large one, seekable stream or not.
        var threshold = _options.MaxInlineSize;
        var head = ArrayPool<byte>.Shared.Rent(threshold + 1);
        try
        {
            var read = await content.ReadAtLeastAsync(head.AsMemory(0, threshold + 1), threshold + 1, throwOnEndOfStream: false, cancellationToken)
                .ConfigureAwait(false);
            return threshold > 0 && read <= threshold
                ? await SendInlineAsync(conversationId, head.AsSpan(0, read).ToArray(), fileName, mimeType, caption, cancellationToken).ConfigureAwait(false)
                : await SendToMeshAsync(conversationId, content, head.AsMemory(0, read), fileName, mimeType, caption, progress, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(head);
        }
    }

    private async Task<Message> SendInlineAsync(string conversationId, byte[] file, string fileName, string mimeType, string? caption,
        CancellationToken cancellationToken)
    {
        var message = NewMessage(conversationId, caption, new Attachment
        {
            Content = file,
            FileName = fileName,
            MimeType = mimeType,
            Size = file.Length,
            Sha256 = SHA256.HashData(file),
        });
        await SaveAsync(message, cancellationToken).ConfigureAwait(false);
        _logger.SentInline(fileName, file.Length, message.MessageId);
        return message;
    }

    private async Task<Message> SendToMeshAsync(string conversationId, Stream content, ReadOnlyMemory<byte> head, string fileName, string mimeType,
        string? caption, IProgress<TransferProgress>? progress, CancellationToken cancellationToken)
    {
        StoredFile stored;
        byte[] sha256;
        using (var hashing = new HashingReadStream(content, head))
        {
            // If this throws, nothing was saved and the mesh has removed whatever it placed.
            stored = await _mesh.StoreAsync(hashing, _owner, _options.StoreOptions, progress, cancellationToken).ConfigureAwait(false);
            sha256 = hashing.GetHashAndReset();
            if (hashing.BytesRead != stored.Size)
            {
                await RollBackAsync(stored.Cid).ConfigureAwait(false);
                throw new IntegrityException($"The mesh stored {stored.Size} bytes but read {hashing.BytesRead}; the upload was deleted.");
            }
        }

        var message = NewMessage(conversationId, caption, new Attachment
        {
            Cid = stored.Cid.ToString(),
            ContentKey = Base64Url.DecodeFromChars(stored.ContentKey.ExportBase64Url()),
            FileName = fileName,
            MimeType = mimeType,
            Size = stored.Size,
            Sha256 = sha256,
        });
        try
        {
            await SaveAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _logger.SaveFailed(e, stored.Cid);
            await RollBackAsync(stored.Cid).ConfigureAwait(false);
            throw;
        }
        _logger.SentUploaded(fileName, stored.Size, stored.Cid, message.MessageId);
        return message;
    }

    private Message NewMessage(string conversationId, string? caption, Attachment attachment) => new()
    {
        MessageId = Guid.NewGuid().ToString("N"),
        ConversationId = conversationId,
        SenderId = _senderId,
        SentAt = _options.TimeProvider.GetUtcNow(),
        Body = caption ?? "",
        Direction = MessageDirection.Outgoing,
        Status = MessageStatus.Sent,
        Attachments = [attachment],
    };

    private async Task SaveAsync(Message message, CancellationToken cancellationToken)
    {
        if (!await _store.SaveMessageAsync(message, cancellationToken).ConfigureAwait(false))
        {
            // A fresh GUID never collides; a store that still says "exists" is broken, not merely busy.
            throw new MessageStoreException($"The message store refused new message {message.MessageId} as a duplicate.");
        }
    }

    /// <summary>Opens an attachment of a stored message for reading, checking its size and SHA-256 as it streams.</summary>
    /// <param name="messageId">The message that carries the attachment.</param>
    /// <param name="attachmentIndex">Which of the message's attachments, from 0.</param>
    /// <param name="cancellationToken">Cancels opening; reads take their own tokens.</param>
    /// <returns>A non-seekable stream of the file. Reading to its end without an exception means every byte matched.</returns>
    /// <exception cref="MessageNotFoundException">The store has no message <paramref name="messageId"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The message (or its tombstone) has no attachment at <paramref name="attachmentIndex"/>.</exception>
    /// <exception cref="ShardsUnavailableException">The file cannot be found in the mesh.</exception>
    /// <exception cref="IntegrityException">The data fails authentication or does not match the recorded SHA-256 (thrown by reads).</exception>
    public async Task<Stream> OpenAttachmentAsync(string messageId, int attachmentIndex = 0, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(messageId);
        ArgumentOutOfRangeException.ThrowIfNegative(attachmentIndex);
        var message = await _store.GetMessageAsync(messageId, cancellationToken).ConfigureAwait(false)
            ?? throw new MessageNotFoundException(messageId);
        if (attachmentIndex >= message.Attachments.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(attachmentIndex), attachmentIndex,
                $"Message '{messageId}' has {message.Attachments.Count} attachment(s); there is none at index {attachmentIndex}.");
        }
        return await OpenAsync(message.Attachments[attachmentIndex], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Opens an attachment (e.g. from <see cref="IAttachmentRepository.GetConversationAttachmentsAsync"/>) for reading: an
    /// inline one from the message store, a reference from the mesh.
    /// </summary>
    /// <param name="attachment">The attachment as stored with its message.</param>
    /// <param name="cancellationToken">Cancels opening; reads take their own tokens.</param>
    /// <returns>A non-seekable stream of the file, checked against the recorded size and SHA-256 as it is read.</returns>
    /// <exception cref="ArgumentException">The reference holds a malformed CID or key.</exception>
    /// <exception cref="ShardsUnavailableException">The file cannot be found in the mesh.</exception>
    /// <exception cref="IntegrityException">The data fails authentication or does not match the recorded SHA-256 (thrown by reads).</exception>
    public async Task<Stream> OpenAsync(Attachment attachment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        if (attachment.Sha256 is not { Length: 32 })
        {
            throw new ArgumentException("The attachment's SHA-256 must be 32 bytes.", nameof(attachment));
        }
        if (attachment.Content is { } inline)
        {
            return new VerifyingReadStream(new MemoryStream(inline, writable: false), attachment.Size, attachment.Sha256,
                $"Inline attachment '{attachment.FileName}'");
        }
        if (attachment.Cid is null || !Cid.TryParse(attachment.Cid, out var cid))
        {
            throw new ArgumentException($"The attachment's CID '{attachment.Cid}' is not a ZenTalk CID.", nameof(attachment));
        }
        if (attachment.ContentKey is not { Length: ContentKey.Size })
        {
            throw new ArgumentException("The attachment's content key must be 32 bytes.", nameof(attachment));
        }
        var key = ContentKey.ImportBase64Url(Base64Url.EncodeToString(attachment.ContentKey));
        var stream = await _mesh.RetrieveAsync(cid, key, cancellationToken).ConfigureAwait(false);
        return new VerifyingReadStream(stream, attachment.Size, attachment.Sha256, $"Attachment '{attachment.FileName}' ({cid})");
    }

    private async Task RollBackAsync(Cid cid)
    {
        // The caller's token may be the reason we are here; the rollback gets its own bounded time.
        using var timeout = new CancellationTokenSource(_options.RollbackTimeout);
        try
        {
            await _mesh.DeleteAsync(cid, _owner, timeout.Token).ConfigureAwait(false);
            _logger.UploadRolledBack(cid);
        }
        catch (Exception e) when (e is MeshStorageException or OperationCanceledException or IOException)
        {
            // The original failure is what the caller must see; the orphan is logged so it can be deleted later.
            _logger.UploadOrphaned(e, cid);
        }
    }
}
