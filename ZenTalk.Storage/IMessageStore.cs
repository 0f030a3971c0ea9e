namespace ZenTalk.Storage;

/// <summary>
/// Everything a messaging app needs from its device store, in one type: messages and search
/// (<see cref="IMessageRepository"/>), contacts (<see cref="IContactRepository"/>), conversations
/// (<see cref="IConversationRepository"/>), attachments (<see cref="IAttachmentRepository"/>), settings and cache
/// (<see cref="ISettingsStore"/>) and backup (<see cref="IMessageStoreBackup"/>). Take the narrower interface where
/// a component needs only one concern. Safe to use from many threads at once; writes are serialized inside the
/// store, so callers never see database lock errors.
/// </summary>
/// <remarks>
/// The relay queue, a server's concern, is <see cref="IRelayQueue"/>, which <see cref="SqliteMessageStore"/> also
/// implements. Every method validates its arguments (<see cref="ArgumentException"/> naming the parameter) before
/// touching the database, and reports storage failures as <see cref="MessageStoreException"/>.
/// </remarks>
public interface IMessageStore :
    IMessageRepository,
    IContactRepository,
    IConversationRepository,
    IAttachmentRepository,
    ISettingsStore,
    IMessageStoreBackup,
    IAsyncDisposable;
