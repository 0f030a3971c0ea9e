using System.Security.Cryptography;
using ZenTalk.Storage;

namespace ZenTalk.Sdk.Tests.Storage;

internal static class InlineAttachment
{
    /// <summary>An attachment whose bytes are kept in the message store, with its size and SHA-256.</summary>
    public static Attachment Of(string fileName, byte[] content) => new()
    {
        Content = content,
        FileName = fileName,
        MimeType = "text/plain",
        Size = content.Length,
        Sha256 = SHA256.HashData(content),
    };
}
