namespace XModHub.Server;

/// <summary>Builds the hub's web application; the CLI's `serve` verb and the tests host it.</summary>
public static class HubApp
{
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(args);
        configure?.Invoke(builder);
        var app = builder.Build();
        app.MapGet("/health", () => Results.Ok(new { status = "ok", version = typeof(HubApp).Assembly.GetName().Version?.ToString() }));
        return app;
    }
}
