using System.Reflection;

namespace ZenTalk.StorageNode;

/// <summary>
/// The status page at <c>/</c>: static HTML, a style sheet and a small script that reads <c>GET /node</c>, all served
/// from the assembly. Nothing is loaded from elsewhere, and the Content-Security-Policy says so to the browser too.
/// </summary>
internal static class StatusPage
{
    private const string Policy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    public static void Map(WebApplication app)
    {
        Serve(app, "/", "index.html", "text/html; charset=utf-8");
        Serve(app, "/status.js", "status.js", "text/javascript; charset=utf-8");
        Serve(app, "/status.css", "status.css", "text/css; charset=utf-8");
    }

    private static void Serve(WebApplication app, string path, string resource, string contentType)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"StatusPage/{resource}")
            ?? throw new InvalidOperationException($"The status page resource {resource} is missing from the build.");
        var bytes = new byte[stream.Length];
        stream.ReadExactly(bytes);
        app.MapGet(path, (HttpContext context) =>
        {
            context.Response.Headers.ContentSecurityPolicy = Policy;
            context.Response.Headers.XContentTypeOptions = "nosniff";
            context.Response.Headers.CacheControl = "no-cache";
            return Results.Bytes(bytes, contentType);
        }).ExcludeFromDescription();
    }
}
