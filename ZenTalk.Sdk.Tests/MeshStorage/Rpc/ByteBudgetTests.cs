using ZenTalk.MeshStorage.Rpc;

namespace ZenTalk.Sdk.Tests.MeshStorage.Rpc;

public class ByteBudgetTests
{
    [Test]
    public async Task A_connections_share_bounds_its_takes_while_the_server_has_room()
    {
        var server = new ByteBudget(1000);
        var connection = new ByteBudget(400, server);
        Assert.That(await connection.AcquireAsync(300, CancellationToken.None), Is.EqualTo(300));
        Assert.That(server.Available, Is.EqualTo(700));
        var second = connection.AcquireAsync(200, CancellationToken.None).AsTask();
        await Task.Delay(100);
        Assert.That(second.IsCompleted, Is.False, "300 + 200 is over the connection's 400");
        Assert.That(await new ByteBudget(400, server).AcquireAsync(400, CancellationToken.None), Is.EqualTo(400), "another connection is served");
        connection.Release(300);
        Assert.That(await second, Is.EqualTo(200));
        Assert.That(server.Available, Is.EqualTo(1000 - 400 - 200));
        connection.Release(200);
        Assert.That(connection.Available, Is.EqualTo(400));
        Assert.That(server.Available, Is.EqualTo(600));
    }

    [Test]
    public async Task A_take_cancelled_while_waiting_for_the_server_gives_back_the_connections_share()
    {
        var server = new ByteBudget(500);
        var other = new ByteBudget(500, server);
        Assert.That(await other.AcquireAsync(500, CancellationToken.None), Is.EqualTo(500));
        var connection = new ByteBudget(300, server);
        using var cancel = new CancellationTokenSource();
        var waiting = connection.AcquireAsync(300, cancel.Token).AsTask();
        await Task.Delay(100);
        Assert.That(waiting.IsCompleted, Is.False);
        Assert.That(connection.Available, Is.Zero, "its own share is held while it waits for the server's");
        await cancel.CancelAsync();
        Assert.CatchAsync<OperationCanceledException>(async () => await waiting);
        Assert.That(connection.Available, Is.EqualTo(300));
        other.Release(500);
        Assert.That(server.Available, Is.EqualTo(500));
    }

    [Test]
    public void A_share_larger_than_the_server_budget_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new ByteBudget(600, new ByteBudget(500)));

    [Test]
    public async Task A_take_larger_than_the_share_is_clamped_to_it()
    {
        var server = new ByteBudget(1000);
        var connection = new ByteBudget(400, server);
        Assert.That(await connection.AcquireAsync(900, CancellationToken.None), Is.EqualTo(400));
        Assert.That(server.Available, Is.EqualTo(600));
    }
}
