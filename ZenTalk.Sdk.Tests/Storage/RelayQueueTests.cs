using ZenTalk.Storage;

namespace ZenTalk.Sdk.Tests.Storage;

public sealed class RelayQueueTests : StoreTestBase
{
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);

    [Test]
    public async Task Enqueued_envelope_is_leased_with_its_bytes_and_ack_removes_it()
    {
        var envelope = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();
        Assert.That(await Store.EnqueueRelayAsync("e1", "bob", envelope, Day), Is.True);

        var leased = await Store.LeaseRelayAsync(10, TimeSpan.FromSeconds(30));

        Assert.That(leased, Has.Count.EqualTo(1));
        Assert.Multiple(() =>
        {
            Assert.That(leased[0].EnvelopeId, Is.EqualTo("e1"));
            Assert.That(leased[0].RecipientId, Is.EqualTo("bob"));
            Assert.That(leased[0].Envelope, Is.EqualTo(envelope));
            Assert.That(leased[0].Attempts, Is.EqualTo(0));
            Assert.That(leased[0].EnqueuedAt, Is.EqualTo(Start));
            Assert.That(leased[0].ExpiresAt, Is.EqualTo(Start + Day));
            Assert.That(leased[0].LeasedUntil, Is.EqualTo(Start.AddSeconds(30)));
        });
        Assert.That(await Store.AckRelayAsync("e1"), Is.True);
        Assert.That(await Store.AckRelayAsync("e1"), Is.False);
        Clock.Advance(TimeSpan.FromMinutes(5));
        Assert.That(await Store.LeaseRelayAsync(10, TimeSpan.FromSeconds(30)), Is.Empty);
    }

    [Test]
    public async Task Concurrent_leasers_never_receive_the_same_envelope()
    {
        for (var i = 0; i < 300; i++)
        {
            await Store.EnqueueRelayAsync($"e{i}", $"r{i % 7}", new byte[] { (byte)i }, Day);
        }
        var leased = new System.Collections.Concurrent.ConcurrentBag<string>();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            IReadOnlyList<RelayItem> batch;
            while ((batch = await Store.LeaseRelayAsync(7, TimeSpan.FromMinutes(5))).Count > 0)
            {
                foreach (var item in batch)
                {
                    leased.Add(item.EnvelopeId);
                }
            }
        })));

        Assert.That(leased, Is.Unique);
        Assert.That(leased, Has.Count.EqualTo(300));
    }

    [Test]
    public async Task Duplicate_envelope_ids_are_rejected_idempotently()
    {
        Assert.That(await Store.EnqueueRelayAsync("e1", "bob", new byte[] { 1 }, Day), Is.True);
        Assert.That(await Store.EnqueueRelayAsync("e1", "bob", new byte[] { 2, 2 }, Day), Is.False);
        var leased = await Store.LeaseRelayAsync(10, TimeSpan.FromSeconds(30));
        Assert.That(leased.Single().Envelope, Is.EqualTo(new byte[] { 1 }));
    }

    [Test]
    public async Task Leased_items_are_invisible_to_other_leasers_until_the_lease_expires()
    {
        for (var i = 0; i < 5; i++)
        {
            await Store.EnqueueRelayAsync($"e{i}", "bob", new byte[] { (byte)i }, Day);
        }

        var first = await Store.LeaseRelayAsync(3, TimeSpan.FromSeconds(60));
        var second = await Store.LeaseRelayAsync(10, TimeSpan.FromSeconds(60));
        Assert.That(first.Select(r => r.EnvelopeId), Is.EqualTo(new[] { "e0", "e1", "e2" }));
        Assert.That(second.Select(r => r.EnvelopeId), Is.EqualTo(new[] { "e3", "e4" }));

        Clock.Advance(TimeSpan.FromSeconds(59));
        Assert.That(await Store.LeaseRelayAsync(10, TimeSpan.FromSeconds(60)), Is.Empty);

        await Store.AckRelayAsync("e1");
        Clock.Advance(TimeSpan.FromSeconds(1));
        var again = await Store.LeaseRelayAsync(10, TimeSpan.FromSeconds(60));
        Assert.That(again.Select(r => r.EnvelopeId), Is.EquivalentTo(new[] { "e0", "e2", "e3", "e4" }), "unacknowledged leases come back");
    }

    [Test]
    public async Task Fail_backs_off_exponentially_with_jitter_then_dead_letters()
    {
        var options = Options();
        options.RelayBaseRetryDelay = TimeSpan.FromSeconds(10);
        options.RelayMaxRetryDelay = TimeSpan.FromSeconds(50);
        options.RelayRetryJitter = 0.5;
        options.RelayMaxAttempts = 5;
        var store = await OpenAsync(Path.Combine(Directory, "relay.db"), options);
        await store.EnqueueRelayAsync("e1", "bob", new byte[] { 1 }, TimeSpan.FromDays(30));

        // Expected delay before jitter for attempts 1..4: 10, 20, 40, 50 (capped); jitter adds up to 50 %.
        foreach (var baseDelay in new[] { 10.0, 20.0, 40.0, 50.0 })
        {
            var lease = await store.LeaseRelayAsync(1, TimeSpan.FromSeconds(5));
            Assert.That(lease, Has.Count.EqualTo(1));
            Assert.That(await store.FailRelayAsync("e1"), Is.EqualTo(RelayFailOutcome.Rescheduled));

            Clock.Advance(TimeSpan.FromSeconds(baseDelay) - TimeSpan.FromMilliseconds(1));
            Assert.That(await store.LeaseRelayAsync(1, TimeSpan.FromSeconds(5)), Is.Empty, $"still backing off before {baseDelay}s");
            Clock.Advance(TimeSpan.FromSeconds(baseDelay * 0.5) + TimeSpan.FromMilliseconds(2));
        }

        var last = await store.LeaseRelayAsync(1, TimeSpan.FromSeconds(5));
        Assert.That(last.Single().Attempts, Is.EqualTo(4));
        Assert.That(await store.FailRelayAsync("e1"), Is.EqualTo(RelayFailOutcome.DeadLettered));
        Assert.That(await store.FailRelayAsync("e1"), Is.EqualTo(RelayFailOutcome.NotFound));
        Clock.Advance(TimeSpan.FromDays(1));
        Assert.That(await store.LeaseRelayAsync(10, TimeSpan.FromSeconds(5)), Is.Empty, "dead letters are never leased");

        var stats = await store.GetRelayStatsAsync();
        Assert.That((stats.Count, stats.DeadLettered), Is.EqualTo((0L, 1L)));
        Assert.That(await store.PurgeExpiredRelayAsync(), Is.EqualTo(1));
        Assert.That((await store.GetRelayStatsAsync()).DeadLettered, Is.EqualTo(0));
    }

    [Test]
    public async Task Retry_delays_spread_over_the_jitter_range()
    {
        var delays = Enumerable.Range(0, 200).Select(_ => Store.RetryDelay(1).TotalMilliseconds).ToList();
        Assert.That(delays, Is.All.InRange(5000.0, 6000.0));
        Assert.That(delays.Distinct().Count(), Is.GreaterThan(100));
    }

    [Test]
    public async Task Expired_envelopes_are_not_leased_and_are_purged()
    {
        await Store.EnqueueRelayAsync("short", "bob", new byte[] { 1 }, TimeSpan.FromMinutes(1));
        await Store.EnqueueRelayAsync("long", "bob", new byte[] { 2 }, Day);
        Clock.Advance(TimeSpan.FromMinutes(1));

        Assert.That((await Store.LeaseRelayAsync(10, TimeSpan.FromSeconds(1))).Select(r => r.EnvelopeId), Is.EqualTo(new[] { "long" }));
        Assert.That(await Store.PurgeExpiredRelayAsync(), Is.EqualTo(1));
        Assert.That((await Store.GetRelayStatsAsync()).Count, Is.EqualTo(1));
    }

    [Test]
    public async Task Per_recipient_quota_gives_a_clear_error_and_enqueues_nothing()
    {
        var options = Options();
        options.RelayMaxItemsPerRecipient = 3;
        options.RelayMaxBytesPerRecipient = 100;
        var store = await OpenAsync(Path.Combine(Directory, "quota.db"), options);
        for (var i = 0; i < 3; i++)
        {
            await store.EnqueueRelayAsync($"e{i}", "bob", new byte[10], Day);
        }

        var error = Assert.ThrowsAsync<RelayQueueQuotaExceededException>(() => store.EnqueueRelayAsync("e3", "bob", new byte[10], Day));
        Assert.That(error!.RecipientId, Is.EqualTo("bob"));
        Assert.That(error.Message, Does.Contain("bob").And.Contain("limit 3"));
        Assert.That(await store.EnqueueRelayAsync("e0", "bob", new byte[10], Day), Is.False, "a duplicate is not a quota error");
        Assert.That(await store.EnqueueRelayAsync("x", "carol", new byte[10], Day), Is.True, "other recipients are unaffected");

        Assert.ThrowsAsync<RelayQueueQuotaExceededException>(() => store.EnqueueRelayAsync("big", "carol", new byte[91], Day));
        Assert.That((await store.GetRelayStatsAsync("bob")).Count, Is.EqualTo(3));
        Assert.That((await store.GetRelayStatsAsync("carol")).Bytes, Is.EqualTo(10));
        await store.AckRelayAsync("e0");
        Assert.That(await store.EnqueueRelayAsync("e3", "bob", new byte[10], Day), Is.True, "acknowledging frees quota");
    }

    [Test]
    public async Task Stats_report_count_bytes_and_oldest()
    {
        Assert.That(await Store.GetRelayStatsAsync(), Is.EqualTo(new RelayQueueStats()));
        await Store.EnqueueRelayAsync("e1", "bob", new byte[5], Day);
        Clock.Advance(TimeSpan.FromSeconds(10));
        await Store.EnqueueRelayAsync("e2", "carol", new byte[7], Day);

        Assert.That(await Store.GetRelayStatsAsync(), Is.EqualTo(new RelayQueueStats { Count = 2, Bytes = 12, OldestEnqueuedAt = Start }));
        Assert.That(await Store.GetRelayStatsAsync("carol"), Is.EqualTo(new RelayQueueStats { Count = 1, Bytes = 7, OldestEnqueuedAt = Start.AddSeconds(10) }));
    }

    [Test]
    public void Invalid_relay_arguments_are_rejected()
    {
        Assert.Multiple(() =>
        {
            Assert.That(() => Store.EnqueueRelayAsync("", "bob", new byte[1], Day), Throws.ArgumentException.With.Property("ParamName").EqualTo("envelopeId"));
            Assert.That(() => Store.EnqueueRelayAsync("e", "", new byte[1], Day), Throws.ArgumentException.With.Property("ParamName").EqualTo("recipientId"));
            Assert.That(() => Store.EnqueueRelayAsync("e", "bob", ReadOnlyMemory<byte>.Empty, Day), Throws.ArgumentException.With.Property("ParamName").EqualTo("envelope"));
            Assert.That(() => Store.EnqueueRelayAsync("e", "bob", new byte[1], TimeSpan.Zero), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("timeToLive"));
            Assert.That(() => Store.LeaseRelayAsync(0, Day), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("maxItems"));
            Assert.That(() => Store.LeaseRelayAsync(1, TimeSpan.FromSeconds(-1)), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("leaseDuration"));
        });
    }
}
