using System.Collections.Concurrent;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ZenTalk.MeshStorage.Crypto;
using ZenTalk.MeshStorage.Rpc;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.MeshStorage.Dht;

/// <summary>
/// A Kademlia node: answers PING, FIND_NODE, FIND_VALUE and STORE_VALUE, keeps the routing table fresh from the
/// traffic it sees, runs lookups, stores and finds value records, bootstraps, refreshes stale buckets and
/// republishes records. It talks through an <see cref="IMeshTransport"/>: TLS/TCP in a real node, memory in the
/// simulation; this class is the same in both.
/// </summary>
internal sealed class DhtNode : IRpcRequestHandler
{
    private readonly IMeshTransport _transport;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<NodeId, byte> _evictionPings = new();
    private readonly ConcurrentDictionary<NodeId, TaskCompletionSource<bool>> _probes = new();
    private readonly ConcurrentDictionary<NodeId, ValueRecord> _published = new();
    private readonly TimeProvider _time;
    private readonly InboundChecks _inboundChecks;
    private long _lastRepublish;

    public DhtNode(PeerContact self, IMeshTransport transport, DhtOptions? options = null, IRecordValidator? validator = null,
        TimeProvider? time = null, ILogger? logger = null)
    {
        Options = options ?? new DhtOptions();
        Options.Validate();
        Self = self;
        _transport = transport;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        Validator = validator ?? new RecordValidatorRegistry();
        Table = new RoutingTable(self.Id, Options, _time);
        Records = new RecordStore(Options, _time, Validator);
        AddressFilter = Options.PeerAddressScopes is { } scopes ? new PeerAddressFilter(scopes) : PeerAddressFilter.For(self.EndPoint.Address);
        _inboundChecks = new InboundChecks(Options, _time);
        _lastRepublish = _time.GetTimestamp();
    }

    public PeerContact Self { get; }

    /// <summary>Which addresses peers named by others may have (lookup answers, callers' claimed addresses, mDNS).</summary>
    public PeerAddressFilter AddressFilter { get; }

    /// <summary>
    /// Records this node keeps although it is not among the closest to their key (STORE_VALUE from a peer is otherwise
    /// refused for such keys). The Distributed layer sets it: a shard holder needs its files' records wherever their
    /// CIDs fall. Called with a record not yet validated.
    /// </summary>
    public Func<ValueRecord, bool>? KeepsDistantRecord { get; set; }

    /// <summary>Dial-backs under way that check callers' claimed listen addresses.</summary>
    public int InboundChecksInFlight => _inboundChecks.InFlight;

    public DhtOptions Options { get; }

    public RoutingTable Table { get; }

    public RecordStore Records { get; }

    public IRecordValidator Validator { get; }

    // ---- Serving --------------------------------------------------------------------------------------------

    public ValueTask<Response> HandleAsync(Request request, RpcCallContext caller, CancellationToken cancellationToken)
    {
        // Every caller proved its id (TLS); if it listens, it may become a contact, once it answers there.
        if (caller.Contact is { } contact) SeenInbound(contact);
        Response response;
        switch (request.KindCase)
        {
            case Request.KindOneofCase.Ping:
                response = new Response { Ping = new PingResponse { Payload = request.Ping.Payload } };
                break;
            case Request.KindOneofCase.FindNode:
                if (request.FindNode.Target.Length != NodeId.Size)
                    return ValueTask.FromResult(RpcStatus.Error(StatusCode.InvalidArgument, "FIND_NODE target must be 32 bytes."));
                var fn = new FindNodeResponse();
                AddCloser(fn.CloserPeers, new NodeId(request.FindNode.Target.Span), caller.RemoteId);
                response = new Response { FindNode = fn };
                break;
            case Request.KindOneofCase.FindValue:
                if (request.FindValue.Key.Length != NodeId.Size)
                    return ValueTask.FromResult(RpcStatus.Error(StatusCode.InvalidArgument, "FIND_VALUE key must be 32 bytes."));
                var key = new NodeId(request.FindValue.Key.Span);
                var fv = new FindValueResponse { Record = Records.Get(key) };
                AddCloser(fv.CloserPeers, key, caller.RemoteId);
                response = new Response { FindValue = fv };
                break;
            case Request.KindOneofCase.StoreValue:
                if (request.StoreValue.Record is not { } record)
                    return ValueTask.FromResult(RpcStatus.Error(StatusCode.InvalidArgument, "STORE_VALUE carries no record."));
                if (record.Key.Length != NodeId.Size)
                    return ValueTask.FromResult(RpcStatus.Error(StatusCode.InvalidArgument, "A record key must be 32 bytes."));
                var storeKey = new NodeId(record.Key.Span);
                try
                {
                    if (!IsAmongClosest(storeKey) && KeepsDistantRecord?.Invoke(record) != true)
                        return ValueTask.FromResult(RpcStatus.Error(StatusCode.InvalidArgument,
                            $"This node is not among the {Options.K} nodes closest to key {storeKey} that it knows; store the record at closer nodes."));
                    Records.Put(record, new RecordOrigin(caller.RemoteId, caller.RemoteAddress));
                }
                catch (Exception ex) when (ex is MeshStorageException or ArgumentException)
                {
                    return ValueTask.FromResult(RpcStatus.FromException(ex));
                }
                response = new Response { StoreValue = new StoreValueResponse() };
                break;
            default:
                return ValueTask.FromResult(RpcStatus.Error(StatusCode.Unsupported, $"The DHT does not serve {request.KindCase}."));
        }
        response.Status = new Status { Code = StatusCode.Ok };
        return ValueTask.FromResult(response);
    }

    private void AddCloser(Google.Protobuf.Collections.RepeatedField<PeerInfo> into, NodeId target, NodeId requester)
    {
        // Peers that failed our last requests are not handed out: a requester should not spend its k places on them.
        foreach (var c in Table.Closest(target, Options.K, exclude: requester, skipStale: true)) into.Add(c.ToWire());
    }

    /// <summary>Whether fewer than k + slack peers we know are closer to <paramref name="key"/> than we are.</summary>
    private bool IsAmongClosest(NodeId key)
    {
        int limit = Options.K + Options.StoreClosenessSlack;
        return Table.CountCloser(key, Self.Id, limit) < limit;
    }

    // ---- Routing table upkeep ---------------------------------------------------------------------------------

    /// <summary>
    /// A caller named the port it listens on. Its id is proven (TLS) but the address is only claimed: a known peer at the
    /// same address is refreshed; anyone else enters the table only after answering a ping there with the same id. The
    /// dial-backs are limited (<see cref="InboundChecks"/>), so a caller cannot make this node dial whatever it likes.
    /// </summary>
    private void SeenInbound(PeerContact contact)
    {
        if (!AddressFilter.Allows(contact.EndPoint.Address) || Table.Refresh(contact)) return;
        if (!_inboundChecks.TryStart(contact)) return;
        _ = CheckInboundAsync(contact);
    }

    private async Task CheckInboundAsync(PeerContact contact)
    {
        bool answered = false;
        try
        {
            answered = await PingAsync(contact, CancellationToken.None).ConfigureAwait(false); // a success adds it (CallAsync)
        }
        finally
        {
            _inboundChecks.Finish(contact, answered);
        }
        if (!answered) _logger.CallerDidNotAnswer(contact);
    }

    /// <summary>A peer proved it is alive at this address (it answered us): add or refresh it; a full bucket pings its
    /// oldest peer and evicts it only if that fails.</summary>
    internal void Seen(PeerContact contact)
    {
        if (Table.Update(contact, out var oldest) != RoutingTable.UpdateResult.BucketFull) return;
        if (!_evictionPings.TryAdd(oldest.Id, 0)) return;
        _ = PingOldestAsync(oldest);
    }

    private async Task PingOldestAsync(PeerContact oldest)
    {
        bool answered;
        try
        {
            answered = await PingAsync(oldest, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _evictionPings.TryRemove(oldest.Id, out _);
        }
        Table.ResolvePing(oldest, answered);
    }

    /// <summary>Calls a peer; a success refreshes it in the table, a failure counts against it.</summary>
    internal async ValueTask<Response> CallAsync(PeerContact peer, Request request, CancellationToken cancellationToken)
    {
        try
        {
            var response = await _transport.CallAsync(peer, request, Options.RequestTimeout, cancellationToken).ConfigureAwait(false);
            Seen(peer);
            return response;
        }
        catch (Exception ex) when (ex is MeshStorageException or TimeoutException or IOException
                                   || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            Table.RecordFailure(peer.Id);
            throw;
        }
    }

    /// <summary>
    /// Claims the one lookup probe of a peer that failed recently (<see cref="NodeLookup"/>): true when this caller is to
    /// send it, and must end it with <see cref="EndProbe"/>; false while another lookup's probe of it is in flight. Either
    /// way <paramref name="outcome"/> completes, when that probe ends, with whether the peer answered: a lookup that finds
    /// a probe in flight waits for it rather than sending another (one probe at a time per peer, however many lookups
    /// want it, so a peer that is down is not asked by every lookup at once) or giving the peer up.
    /// </summary>
    internal bool TryStartProbe(NodeId peer, out Task<bool> outcome)
    {
        var claim = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var current = _probes.GetOrAdd(peer, claim);
        outcome = current.Task;
        return ReferenceEquals(current, claim);
    }

    /// <summary>Ends the probe claimed by <see cref="TryStartProbe"/> and tells every lookup waiting for it whether the peer answered.</summary>
    internal void EndProbe(NodeId peer, bool answered)
    {
        if (_probes.TryRemove(peer, out var claim)) claim.TrySetResult(answered);
    }

    /// <summary>Lookup probes in flight (<see cref="TryStartProbe"/>).</summary>
    internal int ProbesInFlight => _probes.Count;

    /// <summary>Pings a peer; true when it answered.</summary>
    public async Task<bool> PingAsync(PeerContact peer, CancellationToken cancellationToken)
    {
        try
        {
            await CallAsync(peer, new Request { Ping = new PingRequest() }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is MeshStorageException or TimeoutException or IOException or OperationCanceledException)
        {
            return false;
        }
    }

    // ---- Lookups and records ----------------------------------------------------------------------------------

    /// <summary>Finds the k nodes closest to <paramref name="target"/>.</summary>
    public Task<LookupResult> FindNodeAsync(NodeId target, CancellationToken cancellationToken = default) =>
        FindNodeAsync(target, wide: false, cancellationToken);

    /// <summary>Finds the k nodes closest to <paramref name="target"/>; a wide lookup asks the k closest known peers at once (see <see cref="NodeLookup"/>).</summary>
    public Task<LookupResult> FindNodeAsync(NodeId target, bool wide, CancellationToken cancellationToken)
    {
        Table.MarkRefreshed(BucketIndexOrDeepest(target));
        return NodeLookup.RunAsync(this, target, wantValue: false, cancellationToken, wide);
    }

    /// <summary>Finds the record stored under <paramref name="key"/> (our own copy counts), or null.</summary>
    public Task<ValueRecord?> FindValueAsync(NodeId key, CancellationToken cancellationToken = default) =>
        FindValueAsync(key, recordType: null, cancellationToken);

    /// <summary>Finds the record stored under <paramref name="key"/> (our own copy counts), or null. With
    /// <paramref name="recordType"/>, only records of that type count, and an IMMUTABLE one ends the search.</summary>
    public async Task<ValueRecord?> FindValueAsync(NodeId key, uint? recordType, CancellationToken cancellationToken)
    {
        var local = Records.Get(key);
        if (recordType is { } type && local?.Type != type) local = null;
        if (local is { Kind: RecordKind.Immutable } && recordType is not null) return local;
        var result = await NodeLookup.RunAsync(this, key, wantValue: true, cancellationToken, recordType: recordType).ConfigureAwait(false);
        if (local is null) return result.Record;
        return result.Record is null ? local : Validator.Select(local, result.Record);
    }

    /// <summary>Validates a record and stores it at the k nodes closest to its key (and here, if we are one of
    /// them). Returns how many nodes accepted it; the record is republished while it lives.</summary>
    /// <exception cref="IntegrityException">The record does not validate.</exception>
    public async Task<int> StoreValueAsync(ValueRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        Validator.Validate(record);
        var key = new NodeId(record.Key.Span);
        _published[key] = record;
        return await PutAtClosestAsync(record, cancellationToken).ConfigureAwait(false);
    }

    private async Task<int> PutAtClosestAsync(ValueRecord record, CancellationToken cancellationToken)
    {
        var key = new NodeId(record.Key.Span);
        var lookup = await FindNodeAsync(key, cancellationToken).ConfigureAwait(false);
        int stored = 0;
        var closest = lookup.Closest;
        bool selfAmongClosest = closest.Count < Options.K || key.CompareDistance(Self.Id, closest[^1].Id) < 0;
        if (selfAmongClosest)
        {
            try
            {
                Records.Put(record);
                stored++;
            }
            catch (Exception ex) when (ex is MeshStorageException or ArgumentException)
            {
                _logger.RecordRefused(key, ex.Message);
            }
        }
        var request = new Request { StoreValue = new StoreValueRequest { Record = record } };
        var calls = closest.Select(async peer =>
        {
            try
            {
                await CallAsync(peer, request, cancellationToken).ConfigureAwait(false);
                return 1;
            }
            catch (Exception ex) when (ex is MeshStorageException or TimeoutException or IOException)
            {
                return 0;
            }
        });
        stored += (await Task.WhenAll(calls).ConfigureAwait(false)).Sum();
        return stored;
    }

    // ---- Joining and maintenance ------------------------------------------------------------------------------

    /// <summary>
    /// Joins the mesh: contacts each bootstrap peer (checking its id when one is given), looks up our own id to
    /// meet our neighbours, then refreshes the buckets. Returns how many bootstrap peers answered.
    /// </summary>
    public async Task<int> BootstrapAsync(IEnumerable<BootstrapPeer> peers, bool refreshBuckets = true, CancellationToken cancellationToken = default)
    {
        int reached = 0;
        foreach (var peer in peers)
        {
            try
            {
                var id = await _transport.IdentifyAsync(peer.EndPoint, peer.ExpectedId, Options.RequestTimeout, cancellationToken).ConfigureAwait(false);
                if (id == Self.Id) continue;
                // A few tries: one lost ping must not leave a node outside the mesh.
                for (int attempt = 0; attempt < 3; attempt++)
                {
                    if (await PingAsync(new PeerContact(id, peer.EndPoint), cancellationToken).ConfigureAwait(false))
                    {
                        reached++;
                        break;
                    }
                }
            }
            catch (Exception ex) when (ex is MeshStorageException or TimeoutException or IOException)
            {
                _logger.BootstrapPeerUnreachable(peer, ex.Message);
            }
        }
        if (Table.Count == 0) return reached;
        await FindNodeAsync(Self.Id, cancellationToken).ConfigureAwait(false);
        if (refreshBuckets) await RefreshAsync(force: true, cancellationToken).ConfigureAwait(false);
        return reached;
    }

    /// <summary>Looks up a random id in every stale bucket (all of them when <paramref name="force"/>), so that
    /// far regions of the id space stay known.</summary>
    public async Task RefreshAsync(bool force = false, CancellationToken cancellationToken = default)
    {
        var random = Random.Shared;
        List<int> buckets = force ? Enumerable.Range(0, Math.Min(NodeId.Bits, DeepestBucket() + 2)).ToList() : Table.StaleBuckets();
        foreach (int index in buckets)
        {
            var target = Self.Id.RandomWithSharedPrefix(index, random);
            await NodeLookup.RunAsync(this, target, wantValue: false, cancellationToken).ConfigureAwait(false);
            Table.MarkRefreshed(index);
        }
    }

    private int DeepestBucket()
    {
        int deepest = 0;
        foreach (var c in Table.All()) deepest = Math.Max(deepest, Table.BucketIndex(c.Id));
        return deepest;
    }

    private int BucketIndexOrDeepest(NodeId target) => target == Self.Id ? DeepestBucket() : Table.BucketIndex(target);

    /// <summary>Stores again, at the current k closest, every record we hold or published that is due.</summary>
    public async Task<int> RepublishAsync(bool force = false, CancellationToken cancellationToken = default)
    {
        var due = force
            ? Records.TakeDueForRepublish(TimeSpan.Zero)
            : Records.TakeDueForRepublish(Options.RepublishInterval);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        foreach (var (key, record) in _published)
        {
            if (record.ExpiresUnixMs != 0 && record.ExpiresUnixMs <= now) _published.TryRemove(key, out _);
            else if (!due.Any(d => d.Key.Equals(record.Key))) due.Add(record);
        }
        int sent = 0;
        foreach (var record in due)
        {
            await PutAtClosestAsync(record, cancellationToken).ConfigureAwait(false);
            sent++;
        }
        _lastRepublish = _time.GetTimestamp();
        return sent;
    }

    /// <summary>One maintenance pass: drop expired records, refresh stale buckets, republish when due.</summary>
    public async Task MaintainAsync(CancellationToken cancellationToken = default)
    {
        Records.RemoveExpired();
        await RefreshAsync(force: false, cancellationToken).ConfigureAwait(false);
        if (_time.GetElapsedTime(_lastRepublish) >= Options.RepublishInterval)
            await RepublishAsync(force: false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs <see cref="MaintainAsync"/> every <see cref="DhtOptions.MaintenanceInterval"/> until cancelled.</summary>
    public async Task RunMaintenanceLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(Options.MaintenanceInterval, _time, cancellationToken).ConfigureAwait(false);
                await MaintainAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is MeshStorageException or TimeoutException or IOException)
            {
                _logger.MaintenanceFailed(ex);
            }
        }
    }
}
