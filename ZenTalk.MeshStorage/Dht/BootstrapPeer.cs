using System.Globalization;
using System.Net;
using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage.Dht;

/// <summary>A configured entry point into the mesh: an address and, optionally, the node id expected there.</summary>
/// <param name="EndPoint">Where the peer listens.</param>
/// <param name="ExpectedId">The id its key must hash to; null accepts whichever id it proves (trust on first use).</param>
internal sealed record BootstrapPeer(IPEndPoint EndPoint, NodeId? ExpectedId = null)
{
    /// <summary>Parses "ip:port", "[ipv6]:port", optionally followed by "/nodeid" (hex or base32).</summary>
    /// <exception cref="FormatException">The text is not in that form.</exception>
    public static BootstrapPeer Parse(string text)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        string address = text;
        NodeId? id = null;
        int slash = text.LastIndexOf('/');
        if (slash >= 0)
        {
            address = text[..slash];
            id = NodeId.TryParse(text[(slash + 1)..], out var parsed)
                ? parsed
                : throw new FormatException($"'{text}': the part after '/' is not a node id.");
        }
        if (!IPEndPoint.TryParse(address, out var endPoint) || endPoint.Port == 0)
            throw new FormatException($"'{text}' is not a bootstrap address: expected ip:port[/nodeid], e.g. 127.0.0.1:4001.");
        return new BootstrapPeer(endPoint, id);
    }

    /// <inheritdoc/>
    public override string ToString() => ExpectedId is { } id
        ? string.Create(CultureInfo.InvariantCulture, $"{EndPoint}/{id}")
        : EndPoint.ToString();
}
