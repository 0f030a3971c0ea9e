using System.Net;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Rpc;

/// <summary>A peer's id and the endpoint where it accepts connections.</summary>
internal readonly record struct PeerContact(NodeId Id, IPEndPoint EndPoint)
{
    /// <summary>The wire form.</summary>
    public PeerInfo ToWire() => new()
    {
        NodeId = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(Id.ToByteArray()),
        Address = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(EndPoint.Address.GetAddressBytes()),
        Port = (uint)EndPoint.Port,
    };

    /// <summary>Reads a peer from the wire, or returns false when it is malformed (wrong id or address length, port 0).</summary>
    public static bool TryFromWire(PeerInfo info, out PeerContact contact)
    {
        contact = default;
        if (info.NodeId.Length != NodeId.Size || (info.Address.Length != 4 && info.Address.Length != 16)
            || info.Port is 0 or > 65535)
            return false;
        var address = new IPAddress(info.Address.Span);
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        contact = new PeerContact(new NodeId(info.NodeId.Span), new IPEndPoint(address, (int)info.Port));
        return true;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Id.ToString()[..12]}@{EndPoint}";
}
