using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace ZenTalk.MeshStorage.Dht;

/// <summary>The kinds of non-public network a node may accept peers on (public addresses are always accepted).</summary>
[Flags]
internal enum AddressScopes
{
    /// <summary>Public addresses only.</summary>
    None = 0,

    /// <summary>127.0.0.0/8 and ::1.</summary>
    Loopback = 1,

    /// <summary>RFC 1918 (10/8, 172.16/12, 192.168/16), shared address space 100.64/10, IPv4 link-local 169.254/16, IPv6 unique local fc00::/7.</summary>
    Private = 2,

    /// <summary>198.18.0.0/15, the range reserved for network benchmarking (the testnet's nodes live there).</summary>
    Benchmark = 4,
}

/// <summary>
/// Decides which addresses a node may dial or keep as peers when someone else names them (a FIND_NODE answer, a
/// caller's claimed listen address, an mDNS announcement). Unspecified, multicast, broadcast, documentation and
/// reserved addresses are never accepted; loopback, private and benchmarking ranges only when the node itself runs on
/// such a network (or is configured to accept them); public addresses always. A hostile peer then cannot make a node
/// connect to hosts on the node's own machine or private network, or to addresses that are not hosts at all.
/// Addresses an operator configures (bootstrap peers) are not filtered.
/// </summary>
internal sealed class PeerAddressFilter
{
    public PeerAddressFilter(AddressScopes allowed) => Allowed = allowed;

    /// <summary>The non-public scopes accepted.</summary>
    public AddressScopes Allowed { get; }

    /// <summary>The filter for a node listening on <paramref name="listen"/>: the scope of its own address; for a node
    /// listening on every interface, the scopes of the machine's non-loopback addresses (never loopback: a node that
    /// serves the network must not let a stranger make it dial services bound to its own machine).</summary>
    public static PeerAddressFilter For(IPAddress listen)
    {
        if (!listen.Equals(IPAddress.Any) && !listen.Equals(IPAddress.IPv6Any)) return new PeerAddressFilter(ScopeFlag(Classify(listen)));
        var scopes = AddressScopes.None;
        try
        {
            foreach (var nic in NetworkInterface.GetAllNetworkInterfaces())
            {
                if (nic.OperationalStatus != OperationalStatus.Up) continue;
                foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
                {
                    var scope = Classify(unicast.Address);
                    if (scope != AddressScope.Loopback) scopes |= ScopeFlag(scope);
                }
            }
        }
        catch (NetworkInformationException)
        {
            // No interface list: public peers only.
        }
        return new PeerAddressFilter(scopes);
    }

    /// <summary>Whether a peer at <paramref name="address"/> may be dialed or kept.</summary>
    public bool Allows(IPAddress address) => Classify(address) switch
    {
        AddressScope.Public => true,
        AddressScope.Unusable => false,
        var scope => (Allowed & ScopeFlag(scope)) != 0,
    };

    private static AddressScopes ScopeFlag(AddressScope scope) => scope switch
    {
        AddressScope.Loopback => AddressScopes.Loopback,
        AddressScope.Private => AddressScopes.Private,
        AddressScope.Benchmark => AddressScopes.Benchmark,
        _ => AddressScopes.None,
    };

    /// <summary>The kind of network an address belongs to.</summary>
    public static AddressScope Classify(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        Span<byte> b = stackalloc byte[16];
        if (!address.TryWriteBytes(b, out int n)) return AddressScope.Unusable;
        if (address.AddressFamily == AddressFamily.InterNetwork && n == 4) return ClassifyV4(b[..4]);
        if (address.AddressFamily == AddressFamily.InterNetworkV6 && n == 16) return ClassifyV6(b);
        return AddressScope.Unusable;
    }

    private static AddressScope ClassifyV4(ReadOnlySpan<byte> b) => b[0] switch
    {
        0 => AddressScope.Unusable,                                         // "this network", 0.0.0.0
        127 => AddressScope.Loopback,
        10 => AddressScope.Private,
        100 when (b[1] & 0xC0) == 64 => AddressScope.Private,                // 100.64.0.0/10 shared address space
        169 when b[1] == 254 => AddressScope.Private,                        // link-local
        172 when (b[1] & 0xF0) == 16 => AddressScope.Private,
        192 when b[1] == 168 => AddressScope.Private,
        192 when b[1] == 0 && b[2] is 0 or 2 => AddressScope.Unusable,      // protocol assignments, TEST-NET-1
        192 when b[1] == 88 && b[2] == 99 => AddressScope.Unusable,         // deprecated 6to4 relay anycast
        198 when (b[1] & 0xFE) == 18 => AddressScope.Benchmark,             // 198.18.0.0/15
        198 when b[1] == 51 && b[2] == 100 => AddressScope.Unusable,        // TEST-NET-2
        203 when b[1] == 0 && b[2] == 113 => AddressScope.Unusable,         // TEST-NET-3
        >= 224 => AddressScope.Unusable,                                    // multicast, reserved, broadcast
        _ => AddressScope.Public,
    };

    private static AddressScope ClassifyV6(ReadOnlySpan<byte> b)
    {
        bool zeroPrefix = !b[..15].ContainsAnyExcept((byte)0);
        if (zeroPrefix) return b[15] == 1 ? AddressScope.Loopback : AddressScope.Unusable; // ::1, ::
        if ((b[0] & 0xFE) == 0xFC) return AddressScope.Private;                         // fc00::/7 unique local
        // Only global unicast (2000::/3) is routable between hosts; within it, documentation (2001:db8::/32) is not.
        if ((b[0] & 0xE0) != 0x20) return AddressScope.Unusable;                        // multicast, link-local, v4-compatible, ...
        if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8) return AddressScope.Unusable;
        return AddressScope.Public;
    }
}

/// <summary>The kind of network an address belongs to (<see cref="PeerAddressFilter.Classify"/>).</summary>
internal enum AddressScope
{
    /// <summary>Not a host a peer can be on: unspecified, multicast, broadcast, documentation, reserved.</summary>
    Unusable,

    /// <summary>This machine.</summary>
    Loopback,

    /// <summary>A private network (see <see cref="AddressScopes.Private"/>).</summary>
    Private,

    /// <summary>The benchmarking range 198.18.0.0/15.</summary>
    Benchmark,

    /// <summary>Anything else: routable on the internet.</summary>
    Public,
}
