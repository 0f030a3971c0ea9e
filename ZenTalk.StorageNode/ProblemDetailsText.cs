using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing.Patterns;

namespace ZenTalk.StorageNode;

/// <summary>
/// Details for the errors no route writes itself: an unknown path (404), a known path with another method (405, with
/// an Allow header), a failure inside the node (500). Routes and <see cref="ApiGuard"/> write their own.
/// </summary>
internal static class ProblemDetailsText
{
    public static void Customize(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        if (!string.IsNullOrEmpty(problem.Detail)) return;
        var http = context.HttpContext;
        var request = http.Request;
        problem.Detail = problem.Status switch
        {
            StatusCodes.Status404NotFound => $"No route answers {request.Method} {request.Path}; the routes are listed at /openapi/v1.json.",
            StatusCodes.Status405MethodNotAllowed => MethodNotAllowed(http),
            StatusCodes.Status400BadRequest => "The request is malformed (a header or the body could not be read).",
            StatusCodes.Status413PayloadTooLarge => "The request body is larger than this route accepts.",
            StatusCodes.Status500InternalServerError => "The node failed to handle the request; its log says why.",
            _ => $"{request.Method} {request.Path} failed with status {problem.Status}.",
        };
    }

    private static string MethodNotAllowed(HttpContext http)
    {
        var path = http.Request.Path.Value ?? "/";
        var allowed = http.RequestServices.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => Matches(e.RoutePattern, path))
            .SelectMany(e => e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? [])
            .Distinct().Order().ToList();
        if (allowed.Count == 0) return $"{http.Request.Method} is not allowed on {path}.";
        http.Response.Headers.Allow = string.Join(", ", allowed);
        return $"{http.Request.Method} is not allowed on {path}; it accepts {string.Join(", ", allowed)}.";
    }

    /// <summary>Whether a path fits a route pattern of literal and whole-segment parameter parts (all this API has).</summary>
    private static bool Matches(RoutePattern pattern, string path)
    {
        var segments = path.Trim('/').Split('/');
        if (pattern.PathSegments.Count != segments.Length && !(pattern.PathSegments.Count == 0 && path == "/")) return false;
        for (int i = 0; i < pattern.PathSegments.Count; i++)
        {
            var parts = pattern.PathSegments[i].Parts;
            if (parts is [RoutePatternLiteralPart literal] && !string.Equals(literal.Content, segments[i], StringComparison.OrdinalIgnoreCase)) return false;
        }
        return true;
    }
}
