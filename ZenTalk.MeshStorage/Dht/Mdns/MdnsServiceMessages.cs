using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Makaretu.Dns;
using ZenTalk.MeshStorage.Crypto;

namespace ZenTalk.MeshStorage.Dht.Mdns;

/// <summary>
/// The DNS messages of mesh discovery (RFC 6762/6763), built with Makaretu.Dns's message model: a PTR query for
/// <c>_zentalk-mesh._tcp.local</c>, and an answer with PTR (service → instance), SRV (instance → host and port),
/// TXT (<c>id=</c> full node id hex, <c>v=</c> protocol version) and A/AAAA (host → address).
/// The instance label is the node id in base32 (52 characters, within DNS's 63-character label limit).
/// </summary>
internal static class MdnsServiceMessages
{
    public const string ServiceName = "_zentalk-mesh._tcp.local";
    private const uint Ttl = 120;

    public static Message Query()
    {
        var message = new Message();
        message.Questions.Add(new Question { Name = ServiceName, Type = DnsType.PTR, Class = DnsClass.IN });
        return message;
    }

    public static Message Announcement(NodeId id, int port, IPAddress address)
    {
        string label = id.ToBase32();
        var instance = new DomainName($"{label}.{ServiceName}");
        var host = new DomainName($"{label}.local");
        var message = new Message { QR = true, AA = true };
        message.Answers.Add(new PTRRecord { Name = ServiceName, DomainName = instance, TTL = TimeSpan.FromSeconds(Ttl) });
        message.AdditionalRecords.Add(new SRVRecord { Name = instance, Target = host, Port = (ushort)port, Priority = 0, Weight = 0, TTL = TimeSpan.FromSeconds(Ttl) });
        message.AdditionalRecords.Add(new TXTRecord
        {
            Name = instance,
            Strings = { $"id={id}", string.Create(CultureInfo.InvariantCulture, $"v={Rpc.RpcOptions.ProtocolVersion}") },
            TTL = TimeSpan.FromSeconds(Ttl),
        });
        if (address.AddressFamily == AddressFamily.InterNetwork)
            message.AdditionalRecords.Add(new ARecord { Name = host, Address = address, TTL = TimeSpan.FromSeconds(Ttl) });
        else
            message.AdditionalRecords.Add(new AAAARecord { Name = host, Address = address, TTL = TimeSpan.FromSeconds(Ttl) });
        return message;
    }

    /// <summary>Whether a message asks for our service.</summary>
    public static bool IsServiceQuery(Message message) =>
        message.IsQuery && message.Questions.Any(q => q.Name == new DomainName(ServiceName) && q.Type is DnsType.PTR or DnsType.ANY);

    /// <summary>Reads the peers a response announces. <paramref name="source"/> is the sender's address, used when the
    /// message carries no A/AAAA record. Malformed entries are skipped.</summary>
    public static List<BootstrapPeer> ReadPeers(Message message, IPAddress source)
    {
        var peers = new List<BootstrapPeer>();
        if (!message.IsResponse) return peers;
        var records = message.Answers.Concat(message.AdditionalRecords).ToList();
        var service = new DomainName(ServiceName);
        foreach (var ptr in records.OfType<PTRRecord>().Where(p => p.Name == service))
        {
            var instance = ptr.DomainName;
            if (instance.Labels.Count == 0 || !NodeId.TryParse(instance.Labels[0], out var id)) continue;
            var srv = records.OfType<SRVRecord>().FirstOrDefault(s => s.Name == instance);
            var txt = records.OfType<TXTRecord>().FirstOrDefault(t => t.Name == instance);
            if (srv is null || srv.Port == 0) continue;
            // The TXT id must agree with the instance label: both come from the same announcer.
            string? idText = txt?.Strings.FirstOrDefault(s => s.StartsWith("id=", StringComparison.Ordinal))?[3..];
            if (idText is null || !NodeId.TryParse(idText, out var txtId) || txtId != id) continue;
            var address = records.OfType<AddressRecord>().FirstOrDefault(a => a.Name == srv.Target)?.Address ?? source;
            peers.Add(new BootstrapPeer(new IPEndPoint(address, srv.Port), id));
        }
        return peers;
    }
}
