using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace Exir.Proxy.Host.Tests.Emulator;

public sealed partial class ExchangeEmulator
{
    private sealed record OwaSession(string User, string Canary);
    private readonly ConcurrentDictionary<string, OwaSession> _sessions = new(StringComparer.Ordinal);

    /// <summary>The OWA forms session of the request's cadata cookie, if any.</summary>
    private OwaSession? OwaSessionOf(HttpContext ctx) =>
        ctx.Request.Cookies.TryGetValue("cadata", out var token) && token is not null && _sessions.TryGetValue(token, out var s) ? s : null;

    private async Task OwaAsync(HttpContext ctx, RecordedRequest rec, string lower, byte[] body)
    {
        // Forms logon (Exchange's FBA module): POST /owa/auth.owa with destination, username, password.
        if (lower == "/owa/auth.owa")
        {
            if (!HttpMethods.IsPost(ctx.Request.Method)) { await NotFoundAsync(ctx); return; }
            var form = QueryHelpers.ParseQuery("?" + Encoding.UTF8.GetString(body));
            var user = AccountName(form.GetValueOrDefault("username").ToString());
            var destination = form.GetValueOrDefault("destination").ToString();
            if (user.Length == 0 || !CheckPassword(user, form.GetValueOrDefault("password").ToString()))
            {
                if (user.Length > 0) CountFailure(user);
                rec.AuthNote = "owa-wrong-password";
                Redirect(ctx, "/owa/auth/logon.aspx?replaceCurrent=1&reason=2&url=" + Uri.EscapeDataString(destination));
                return;
            }
            var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
            _sessions[token] = new OwaSession(user, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24)));
            rec.AuthNote = "owa-ok";
            SetUser(ctx, rec, user);
            ctx.Response.Headers.SetCookie = new[]
            {
                $"cadata={token}; path=/; HttpOnly",
                $"cadataTTL={Convert.ToBase64String(RandomNumberGenerator.GetBytes(16))}; path=/; HttpOnly",
                $"cadataKey={Convert.ToBase64String(RandomNumberGenerator.GetBytes(64))}; path=/; HttpOnly",
                $"cadataIV={Convert.ToBase64String(RandomNumberGenerator.GetBytes(64))}; path=/; HttpOnly",
                $"cadataSig={Convert.ToBase64String(RandomNumberGenerator.GetBytes(64))}; path=/; HttpOnly",
            };
            Redirect(ctx, destination.Length > 0 && destination.Contains("/owa", StringComparison.OrdinalIgnoreCase) ? destination : "/owa/");
            return;
        }

        if (lower.StartsWith("/owa/auth/", StringComparison.Ordinal))
        {
            if (lower == "/owa/auth/logon.aspx")
            {
                ctx.Response.ContentType = "text/html; charset=utf-8";
                await ctx.Response.WriteAsync("<!DOCTYPE html><html><head><title>Outlook</title></head><body><form action=\"/owa/auth.owa\" method=\"POST\" name=\"logonForm\" ENCTYPE=\"application/x-www-form-urlencoded\" autocomplete=\"off\"><input type=\"hidden\" name=\"destination\" value=\"\"><input type=\"hidden\" name=\"flags\" value=\"4\"><input type=\"hidden\" name=\"forcedownlevel\" value=\"0\"><input id=\"username\" name=\"username\" type=\"text\"><input id=\"password\" name=\"password\" type=\"password\"><input type=\"hidden\" name=\"isUtf8\" value=\"1\"></form></body></html>");
                return;
            }
            // Static resources live under /owa/auth/<build>/...; anything else there is not a file Exchange has.
            if (System.Text.RegularExpressions.Regex.IsMatch(lower, @"^/owa/auth/\d+\.\d+\.\d+/"))
            {
                ctx.Response.ContentType = lower.EndsWith(".ico", StringComparison.Ordinal) ? "image/x-icon" : "application/octet-stream";
                await WriteAsync(ctx, rec, new byte[] { 0, 0, 1, 0, 1, 0, 16, 16 });
                return;
            }
            await NotFoundAsync(ctx);
            return;
        }

        var session = OwaSessionOf(ctx);
        if (lower.StartsWith("/owa/service.svc", StringComparison.Ordinal))
        {
            if (session is null)
            {
                ctx.Response.StatusCode = 440; // Login Timeout: OWA's answer to a request without a session
                return;
            }
            SetUser(ctx, rec, session.User);
            var canary = ctx.Request.Headers["X-OWA-CANARY"].ToString();
            if (canary.Length == 0) canary = ctx.Request.Query["X-OWA-CANARY"].ToString();
            if (!ctx.Request.Cookies.TryGetValue("X-OWA-CANARY", out var cookieCanary) || cookieCanary != session.Canary || canary != session.Canary)
            {
                ctx.Response.StatusCode = 449; // retry with a fresh canary
                return;
            }
            var action = ctx.Request.Query["action"].ToString();
            if (action.Length == 0) action = lower.Split('/').LastOrDefault() ?? "";
            ctx.Response.ContentType = "application/json; charset=utf-8";
            ctx.Response.Headers["X-OWA-Action"] = action;
            await ctx.Response.WriteAsync($"{{\"__type\":\"{action}Response:#Exchange\",\"Body\":{{\"ResponseClass\":\"Success\",\"ResponseCode\":\"NoError\",\"RequestBytes\":{body.Length},\"RequestSha256\":\"{Convert.ToHexStringLower(SHA256.HashData(body))}\"}}}}");
            return;
        }

        if (session is null)
        {
            Redirect(ctx, "/owa/auth/logon.aspx?url=" + Uri.EscapeDataString("https://mail.contoso.com" + ctx.Request.Path + ctx.Request.QueryString) + "&reason=0");
            return;
        }
        SetUser(ctx, rec, session.User);
        ctx.Response.Headers.Append("Set-Cookie", $"X-OWA-CANARY={session.Canary}; path=/; secure");
        ctx.Response.ContentType = "text/html; charset=utf-8";
        await ctx.Response.WriteAsync("<!DOCTYPE html><html><head><title>Outlook</title></head><body>Outlook on the web</body></html>");
    }
}
