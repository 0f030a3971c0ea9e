using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace ZenTalk.Testnet.Network;

/// <summary>
/// A raw link-layer socket (AF_PACKET) bound to one interface of this namespace: it receives every frame that arrives
/// on the interface and sends whole frames out of it. With PACKET_VNET_HDR each frame carries a virtio-net header,
/// so TCP's large segmentation-offload frames (up to 64 KiB) and their pending checksums pass through unchanged,
/// as a virtual machine's tap does; the kernel segments them where it has to.
/// </summary>
internal static partial class PacketSocket
{
    private const int SolPacket = 263;
    private const int PacketVnetHdr = 15;
    private const int PacketIgnoreOutgoing = 23;
    private const short EthPAll = 0x0003;

    /// <summary>The virtio-net header each frame starts with.</summary>
    public const int VnetHeaderSize = 10;

    /// <summary>The largest frame a socket hands over: a 64 KiB GSO frame, its Ethernet header and the virtio-net header.</summary>
    public const int MaxFrame = 65536 + 14 + VnetHeaderSize + 64;

    public static Socket Open(string interfaceName)
    {
        int index = (int)IfNameToIndex(interfaceName);
        if (index == 0) throw new InvalidOperationException($"no interface {interfaceName} in this namespace");
        var socket = new Socket(AddressFamily.Packet, SocketType.Raw, (ProtocolType)(ushort)IPAddress.HostToNetworkOrder(EthPAll));
        try
        {
            socket.SetRawSocketOption(SolPacket, PacketVnetHdr, BitConverter.GetBytes(1));
            // Frames this socket sends out of the interface are not handed back to it.
            socket.SetRawSocketOption(SolPacket, PacketIgnoreOutgoing, BitConverter.GetBytes(1));
            socket.ReceiveBufferSize = 2 << 20;
            socket.SendBufferSize = 2 << 20;
            socket.ReceiveTimeout = 250;
            socket.Bind(new LinkEndPoint(index));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    [LibraryImport("libc", EntryPoint = "if_nametoindex", StringMarshalling = StringMarshalling.Utf8)]
    private static partial uint IfNameToIndex(string name);

    /// <summary>struct sockaddr_ll naming an interface: family, protocol (network order), ifindex; the rest zero.</summary>
    private sealed class LinkEndPoint(int index) : EndPoint
    {
        public override AddressFamily AddressFamily => AddressFamily.Packet;

        public override SocketAddress Serialize()
        {
            var address = new SocketAddress(AddressFamily.Packet, 20);
            address[2] = (byte)(EthPAll >> 8);
            address[3] = EthPAll & 0xFF;
            address[4] = (byte)index;
            address[5] = (byte)(index >> 8);
            address[6] = (byte)(index >> 16);
            address[7] = (byte)(index >> 24);
            return address;
        }

        public override EndPoint Create(SocketAddress socketAddress) => this;
    }
}
