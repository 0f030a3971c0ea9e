namespace ZenTalk.Storage;

/// <summary>
/// Delivery state of a message. The numeric values are ranks: the store only ever moves a message to a higher
/// rank, so a late "sent" receipt can never overwrite "read".
/// </summary>
public enum MessageStatus
{
    /// <summary>Queued on this device, not yet accepted by the network.</summary>
    Sending = 0,

    /// <summary>Sending failed. A later <see cref="Sent"/> (a successful retry) still moves it forward.</summary>
    Failed = 1,

    /// <summary>Accepted by the network or a relay.</summary>
    Sent = 2,

    /// <summary>Delivered to the recipient's device (for incoming messages: received here, not yet read).</summary>
    Delivered = 3,

    /// <summary>Read by the recipient (for incoming messages: read on this device).</summary>
    Read = 4,
}
