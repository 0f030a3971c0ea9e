using ZenTalk.MeshStorage;
using ZenTalk.MeshStorage.Distributed;
using ZenTalk.MeshStorage.Rpc.Wire;

namespace ZenTalk.Sdk.Tests.MeshStorage.Distributed;

/// <summary>
/// A node's stores share their owner's delegation (<see cref="StoreDelegationCache"/>): one owner signature per owner
/// key and file expiry while more than an hour of the delegation is left, real keys and real signatures, a fake clock.
/// </summary>
public class StoreDelegationCacheTests
{
    private static readonly NodeId Uploader = NodeId.Random();

    private static bool Valid(StoreDelegation delegation, OwnerKey owner, long expires) =>
        delegation.OwnerPublicKey.Span.SequenceEqual(owner.PublicKey.SubjectPublicKeyInfo)
        && delegation.UploaderNodeId.Span.SequenceEqual(Uploader.ToByteArray())
        && delegation.ExpiresUnixMs == expires
        && owner.PublicKey.Verify(StoreDelegations.Payload(delegation), delegation.Signature.Span);

    [Test]
    public void Stores_of_one_owner_and_expiry_share_a_delegation_until_an_hour_of_it_is_left()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var cache = new StoreDelegationCache(Uploader, time);
        using var owner = OwnerKey.Generate(OwnerKeyAlgorithm.EcdsaP256);

        var first = cache.Session(owner, 0).Delegation();
        Assert.That(Valid(first, owner, 0), Is.True);
        time.Advance(StoreDelegations.Lifetime - StoreSession.RenewBefore - TimeSpan.FromMinutes(1));
        var longRunning = cache.Session(owner, 0);
        Assert.That(longRunning.Delegation(), Is.SameAs(first), "a later store of the same owner and expiry signs nothing");

        // Now less than an hour is left: a new store, and the store still running, take a new delegation, and share it.
        time.Advance(TimeSpan.FromMinutes(2));
        var renewed = cache.Session(owner, 0).Delegation();
        Assert.That(renewed, Is.Not.SameAs(first));
        Assert.That(renewed.NotAfterUnixMs, Is.EqualTo((time.GetUtcNow() + StoreDelegations.Lifetime).ToUnixTimeMilliseconds()));
        Assert.That(Valid(renewed, owner, 0), Is.True);
        Assert.That(longRunning.Delegation(), Is.SameAs(renewed));
        Assert.That(cache.Count, Is.EqualTo(1));
    }

    [Test]
    public void Another_expiry_or_owner_gets_its_own_delegation_and_a_disposed_key_object_is_not_needed_again()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var cache = new StoreDelegationCache(Uploader, time);
        long inADay = time.GetUtcNow().AddDays(1).ToUnixTimeMilliseconds();
        string pem;
        StoreDelegation forever;
        using (var owner = OwnerKey.Generate(OwnerKeyAlgorithm.EcdsaP256))
        {
            pem = owner.ExportPrivateKeyPem();
            forever = cache.Session(owner, 0).Delegation();
            var expiring = cache.Session(owner, inADay).Delegation();
            Assert.That(expiring, Is.Not.SameAs(forever));
            Assert.That(Valid(expiring, owner, inADay), Is.True);
        }

        // The same key loaded again (the first object is disposed): the kept delegation serves it, and renewal signs
        // with the key object of the store that needs it.
        using var again = OwnerKey.ImportPem(pem);
        Assert.That(cache.Session(again, 0).Delegation(), Is.SameAs(forever));
        time.Advance(StoreDelegations.Lifetime);
        var renewed = cache.Session(again, 0).Delegation();
        Assert.That(Valid(renewed, again, 0), Is.True);

        using var other = OwnerKey.Generate(OwnerKeyAlgorithm.EcdsaP256);
        var theirs = cache.Session(other, 0).Delegation();
        Assert.That(Valid(theirs, other, 0), Is.True);
        Assert.That(theirs.Signature, Is.Not.EqualTo(renewed.Signature));
    }

    [Test]
    public void The_cache_holds_at_most_its_capacity()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var cache = new StoreDelegationCache(Uploader, time);
        using var owner = OwnerKey.Generate(OwnerKeyAlgorithm.EcdsaP256);
        for (int i = 1; i <= StoreDelegationCache.Capacity * 2 + 3; i++)
        {
            long expires = time.GetUtcNow().AddDays(1).ToUnixTimeMilliseconds() + i;
            Assert.That(Valid(cache.Session(owner, expires).Delegation(), owner, expires), Is.True);
            Assert.That(cache.Count, Is.LessThanOrEqualTo(StoreDelegationCache.Capacity));
        }
    }
}
