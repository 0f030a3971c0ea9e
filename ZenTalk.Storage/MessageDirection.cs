namespace ZenTalk.Storage;

/// <summary>Whether a message was written on this device or received from someone else.</summary>
public enum MessageDirection
{
    /// <summary>Written on this device.</summary>
    Outgoing = 0,

    /// <summary>Received from another participant; counts towards the conversation's unread count.</summary>
    Incoming = 1,
}
