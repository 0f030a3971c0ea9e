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

    /// <summary>
    /// Like <see cref="Parse"/>, but the host may also be a name ("seed.example:4001/nodeid"), resolved through the
    /// system resolver (IPv4 preferred).
    /// </summary>
    /// <exception cref="FormatException">The text is not host:port[/nodeid].</exception>
    /// <exception cref="System.Net.Sockets.SocketException">The name does not resolve.</exception>
    public static async Task<BootstrapPeer> ResolveAsync(string text, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        string address = text;
        string? idPart = null;
        int slash = text.LastIndexOf('/');
        if (slash >= 0)
        {
            address = text[..slash];
            idPart = text[(slash + 1)..];
        }
        if (IPEndPoint.TryParse(address, out _)) return Parse(text);
        int colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port is < 1 or > 65535)
            throw new FormatException($"'{text}' is not a bootstrap address: expected host:port[/nodeid], e.g. seed.local:4001.");
        NodeId? id = null;
        if (idPart is not null)
            id = NodeId.TryParse(idPart, out var parsed) ? parsed : throw new FormatException($"'{text}': the part after '/' is not a node id.");
        var addresses = await Dns.GetHostAddressesAsync(address[..colon], cancellationToken).ConfigureAwait(false);
        var chosen = addresses.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
            ?? throw new FormatException($"'{address[..colon]}' resolved to no address.");
        return new BootstrapPeer(new IPEndPoint(chosen, port), id);
    }

    /// <inheritdoc/>
    public override string ToString() => ExpectedId is { } id
        ? string.Create(CultureInfo.InvariantCulture, $"{EndPoint}/{id}")
        : EndPoint.ToString();
}
