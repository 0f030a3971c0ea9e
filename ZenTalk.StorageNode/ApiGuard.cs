using System.Net;
using System.Text;

namespace ZenTalk.StorageNode;

/// <summary>
/// The checks every request passes before it reaches a route, each refused as problem details:
/// <list type="bullet">
/// <item>a request target longer than <see cref="MaxTargetLength"/> (414);</item>
/// <item>a Host header not in the allow-list: loopback names, the API's own address and <c>Api:AllowedHosts</c>
/// (400), which defeats DNS rebinding: a page on another name that resolves to 127.0.0.1 gets nothing;</item>
/// <item>a cross-origin write: a POST, PUT, PATCH or DELETE whose <c>Origin</c> is not the API's own, or which a browser
/// marks <c>Sec-Fetch-Site: cross-site</c> (403);</item>
/// <item>a write to a route without the API token as <c>Authorization: Bearer …</c> (401).</item>
/// </list>
/// </summary>
internal sealed class ApiGuard
{
    /// <summary>Longer request targets get a 414 with a body (Kestrel's own limit, past which it answers bare, is higher).</summary>
    public const int MaxTargetLength = 4096;

    private readonly RequestDelegate _next;
    private readonly NodeKeys _keys;
    private readonly HashSet<string> _hosts;
    private readonly bool _anyHost;
    private readonly ILogger _logger;

    public ApiGuard(RequestDelegate next, NodeKeys keys, NodeSettings settings, ILogger<ApiGuard> logger)
    {
        _next = next;
        _logger = logger;
        _keys = keys;
        _hosts = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "localhost", "127.0.0.1", "[::1]" };
        if (!settings.ApiAddress.Equals(IPAddress.Any) && !settings.ApiAddress.Equals(IPAddress.IPv6Any))
            _hosts.Add(HostOf(settings.ApiAddress));
        foreach (var host in settings.AllowedHosts) _hosts.Add(host);
        _anyHost = _hosts.Contains("*");
    }

    /// <summary>Whether the method changes data (and so needs the token and a same-origin caller).</summary>
    public static bool IsWrite(string method) => !(HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method));

    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        int target = request.PathBase.Value!.Length + request.Path.Value!.Length + request.QueryString.Value!.Length;
        if (target > MaxTargetLength)
        {
            return RefuseAsync(context, StatusCodes.Status414UriTooLong, "Request target too long",
                $"The path and query are {target} characters; this API's longest is under 100 and it accepts at most {MaxTargetLength}. Keys travel in headers, never in the URL.");
        }

        var host = request.Host.Host;
        if (!_anyHost && (string.IsNullOrEmpty(host) || !_hosts.Contains(host)))
        {
            // Worth an operator's look: a page on another name that resolves here (DNS rebinding), or a missing --allowed-host.
            _logger.HostRefused(request.Method, request.Path, host, context.Connection.RemoteIpAddress);
            return RefuseAsync(context, StatusCodes.Status400BadRequest, "Host not allowed",
                $"This node answers to the Host names {string.Join(", ", _hosts.Order())}; add another with --allowed-host (Api:AllowedHosts).");
        }

        if (IsWrite(request.Method))
        {
            var origin = request.Headers.Origin.ToString();
            var site = request.Headers["Sec-Fetch-Site"].ToString();
            if ((origin.Length > 0 && !IsSameOrigin(origin, request)) || site is "cross-site" or "same-site")
            {
                _logger.CrossOriginRefused(request.Method, request.Path, origin, site);
                return RefuseAsync(context, StatusCodes.Status403Forbidden, "Cross-origin write refused",
                    $"{request.Method} {request.Path} came from another origin ({(origin.Length > 0 ? origin : site)}); this API takes writes only from its own origin or from non-browser clients.");
            }

            // Only a route that takes this method asks for the token: an unknown path or method gets its 404 or 405.
            var authorization = request.Headers.Authorization.ToString();
            const string scheme = "Bearer ";
            bool routed = context.GetEndpoint()?.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods.Contains(request.Method, StringComparer.OrdinalIgnoreCase) == true;
            if (routed && (!authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)
                || !_keys.IsToken(Encoding.ASCII.GetBytes(authorization[scheme.Length..].Trim()))))
            {
                context.Response.Headers.WWWAuthenticate = "Bearer realm=\"zentalk-node\"";
                return RefuseAsync(context, StatusCodes.Status401Unauthorized, authorization.Length == 0 ? "Token required" : "Wrong token",
                    $"{request.Method} {request.Path} changes data: send the node's API token as 'Authorization: Bearer <token>'. It is in the file api-token in the node's data directory.");
            }
        }

        return _next(context);
    }

    private static bool IsSameOrigin(string origin, HttpRequest request) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri)
        && uri.Scheme == request.Scheme
        && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);

    private static string HostOf(IPAddress address) =>
        address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();

    private static Task RefuseAsync(HttpContext context, int status, string title, string detail) =>
        RestApi.Problem(status, title, detail).ExecuteAsync(context);
}
