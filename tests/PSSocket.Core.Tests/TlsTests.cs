using System;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using PSSocket.Net;
using Xunit;

namespace PSSocket.Tests
{
    public class TlsTests
    {
        private static X509Certificate2 SelfSigned(string name, DateTimeOffset notBefore, DateTimeOffset notAfter)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName(name);
            san.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
            return request.CreateSelfSigned(notBefore, notAfter);
        }

        private static X509Certificate2 Current(string name = "localhost") =>
            SelfSigned(name, DateTimeOffset.Now.AddDays(-1), DateTimeOffset.Now.AddDays(1));

        [Fact]
        public void NamesAnUntrustedSelfSignedCertificate()
        {
            using var cert = Current();
            using var chain = new X509Chain();
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.Build(cert);
            var reason = CertificateValidator.Validate(cert, chain, SslPolicyErrors.RemoteCertificateChainErrors, null, true, "localhost");
            Assert.NotNull(reason);
            Assert.Contains("untrusted root", reason);
            Assert.Contains("self-signed", reason);
        }

        [Fact]
        public void AcceptsACertificateGivenAsTrusted()
        {
            using var cert = Current();
            var trusted = new X509Certificate2Collection { X509CertificateLoader.LoadCertificate(cert.RawData) };
            Assert.Null(CertificateValidator.Validate(cert, null, SslPolicyErrors.RemoteCertificateChainErrors, trusted, true, "localhost"));
        }

        [Fact]
        public void ReportsExpiryAndNameMismatchEvenWhenTrusted()
        {
            using var cert = SelfSigned("localhost", DateTimeOffset.Now.AddDays(-10), DateTimeOffset.Now.AddDays(-1));
            var trusted = new X509Certificate2Collection { X509CertificateLoader.LoadCertificate(cert.RawData) };
            var reason = CertificateValidator.Validate(cert, null, SslPolicyErrors.RemoteCertificateChainErrors | SslPolicyErrors.RemoteCertificateNameMismatch, trusted, true, "other.example");
            Assert.NotNull(reason);
            Assert.Contains("expired", reason);
            Assert.Contains("name mismatch", reason);
            Assert.Contains("other.example", reason);
            Assert.DoesNotContain("untrusted root", reason);
        }

        [Fact]
        public void ParsesEveryCertificateOfAPemBundle()
        {
            using var a = Current("a.test");
            using var b = Current("b.test");
            string pem = a.ExportCertificatePem() + "\n" + b.ExportCertificatePem() + "\n";
            var list = CertificateLoader.ParsePemCertificates(pem);
            Assert.Equal(2, list.Count);
            Assert.Equal(a.RawData, list[0]);
            Assert.Equal(b.RawData, list[1]);
        }

        [Fact]
        public void MapsVersionsOntoSslProtocols()
        {
            Assert.Equal(SslProtocols.None, TlsOptions.ToSslProtocols(null));
            Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, TlsOptions.ToSslProtocols(new[] { TlsVersion.Tls12, TlsVersion.Tls13 }));
        }

        [Fact]
        public void AsksForTls12And13WhenTheRuntimeRefusesTheSystemDefault()
        {
            Assert.Equal(SslProtocols.Tls12, TlsOptions.Negotiable(new[] { TlsVersion.Tls12 }));
            try
            {
                TlsOptions.SystemDefaultOverride = false;
                Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, TlsOptions.Negotiable(null));
                Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, new TlsClientOptions().SslProtocols);
                Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, new TlsServerOptions(Current()).SslProtocols);
                TlsOptions.SystemDefaultOverride = true;
                Assert.Equal(SslProtocols.None, TlsOptions.Negotiable(null));
            }
            finally
            {
                TlsOptions.SystemDefaultOverride = null;
            }

            // .NET (Core) always lets the operating system choose; .NET Framework and Mono are probed.
            if (!System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.Ordinal) && Type.GetType("Mono.Runtime") is null)
            {
                Assert.True(TlsOptions.RuntimeAcceptsSystemDefault);
            }
        }

        [Fact]
        public async Task ConnectsToATls12OnlyServerWhenTheRuntimeRefusesTheSystemDefault()
        {
            using var cert = Current();
            var (accepted, connected) = LoopbackPair.Open();
            using var serverStream = new SslStream(new NetworkStream(accepted, ownsSocket: true));
            using var client = new TcpSession(connected);
            var options = new TlsClientOptions { ServerName = "localhost" };
            options.TrustedCertificates.Add(X509CertificateLoader.LoadCertificate(cert.RawData));
            try
            {
                TlsOptions.SystemDefaultOverride = false;
                var server = serverStream.AuthenticateAsServerAsync(cert, false, SslProtocols.Tls12, false);
                await client.StartTlsAsClientAsync(options, Deadline.After(TimeSpan.FromSeconds(20)), CancellationToken.None);
                await server;
            }
            finally
            {
                TlsOptions.SystemDefaultOverride = null;
            }

            Assert.Equal(SslProtocols.Tls12, client.TlsProtocol);
        }

        [Theory]
        [InlineData("localhost")]
        [InlineData("web-01.example.com")]
        [InlineData("web-01.example.com.")]
        [InlineData("_service.example")]
        [InlineData("127.0.0.1")]
        [InlineData("::1")]
        [InlineData("bücher.example")]
        public void TakesHostNamesAndAddressesAsServerNames(string name)
        {
            Assert.Null(TlsDiagnostics.CheckHostName(name));
            Assert.Equal(name, TlsDiagnostics.SafeServerName(name));
        }

        [Theory]
        [InlineData("evil\\r\\nInjected: 1", "carriage return")]
        [InlineData("a\\u0000b", "NUL")]
        [InlineData("two words", "space")]
        [InlineData("a..b", "empty label")]
        [InlineData("", "empty")]
        public void RefusesServerNamesThatAreNotHostNames(string escaped, string why)
        {
            string name = System.Text.RegularExpressions.Regex.Unescape(escaped);
            Assert.Contains(why, TlsDiagnostics.CheckHostName(name));
        }

        [Fact]
        public void RefusesOverlongServerNamesAndEscapesReceivedOnes()
        {
            Assert.Contains("300 characters", TlsDiagnostics.CheckHostName(new string('a', 300)));
            Assert.Contains("at most 63", TlsDiagnostics.CheckHostName(new string('a', 64) + ".example"));
            Assert.Equal(@"\x1b\x1b[31mred\x07", TlsDiagnostics.SafeServerName("\u001b\u001b[31mred\u0007"));
            Assert.Equal(@"csi\x9b2J \\ \u4e2d", TlsDiagnostics.SafeServerName("csi\u009b2J \\ \u4e2d"));
        }

        private static X509Certificate2 WithUsage(params string[] ekus)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=purpose.test", key, HashAlgorithmName.SHA256);
            var oids = new OidCollection();
            foreach (var eku in ekus)
            {
                oids.Add(new Oid(eku));
            }

            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(oids, false));
            return request.CreateSelfSigned(DateTimeOffset.Now.AddDays(-1), DateTimeOffset.Now.AddDays(1));
        }

        [Fact]
        public void RequiresServerAuthForServersAndClientAuthForClients()
        {
            using var clientOnly = WithUsage(CertificateValidator.ClientAuthOid);
            using var serverOnly = WithUsage(CertificateValidator.ServerAuthOid);
            using var both = WithUsage(CertificateValidator.ServerAuthOid, CertificateValidator.ClientAuthOid);
            using var none = Current();
            Assert.Contains("unsuitable certificate purpose", CertificateValidator.CheckPurpose(clientOnly, serverCertificate: true));
            Assert.Contains("unsuitable certificate purpose", CertificateValidator.CheckPurpose(serverOnly, serverCertificate: false));
            Assert.Null(CertificateValidator.CheckPurpose(serverOnly, serverCertificate: true));
            Assert.Null(CertificateValidator.CheckPurpose(clientOnly, serverCertificate: false));
            Assert.Null(CertificateValidator.CheckPurpose(both, serverCertificate: true));
            Assert.Null(CertificateValidator.CheckPurpose(none, serverCertificate: false));

            var trusted = new X509Certificate2Collection { X509CertificateLoader.LoadCertificate(clientOnly.RawData) };
            var reason = CertificateValidator.Validate(clientOnly, null, SslPolicyErrors.RemoteCertificateChainErrors, trusted, true, "purpose.test");
            Assert.Contains("unsuitable certificate purpose", reason);
        }

        [Fact]
        public async Task UpgradesInPlaceAndKeepsAClientHelloThatWasReadAhead()
        {
            using var cert = Current();
            var (serverSocket, clientSocket) = LoopbackPair.Open();
            using var client = new TcpSession(clientSocket);
            using var server = new TcpSession(serverSocket);
            var deadline = Deadline.After(TimeSpan.FromSeconds(20));

            // The client pipelines: STARTTLS and its ClientHello leave before any answer, so the
            // server reads both in one chunk and must hand the TLS bytes to the handshake.
            var command = Encoding.ASCII.GetBytes("STARTTLS\r\n");
            await client.SendAsync(command, 0, command.Length, deadline, CancellationToken.None);
            var options = new TlsClientOptions { ServerName = "localhost" };
            options.TrustedCertificates.Add(X509CertificateLoader.LoadCertificate(cert.RawData));
            var clientTls = client.StartTlsAsClientAsync(options, deadline, CancellationToken.None);
            await Eventually.TrueAsync(() => serverSocket.Available > command.Length, pollMs: 10);

            var line = await server.ReceiveUntilAsync(Encoding.ASCII.GetBytes("\r\n"), 1 << 20, deadline, CancellationToken.None);
            Assert.Equal("STARTTLS\r\n", Encoding.ASCII.GetString(line));
            Assert.True(server.Available > 0);
            await server.StartTlsAsServerAsync(new TlsServerOptions(cert), deadline, CancellationToken.None);
            await clientTls;

            Assert.True(client.IsTls);
            Assert.True(server.IsTls);
            Assert.True(server.IsTlsServer);
            Assert.Equal("CN=localhost", client.RemoteCertificate!.Subject);
            Assert.False(string.IsNullOrEmpty(client.CipherSuite));

            var hello = Encoding.ASCII.GetBytes("secret;after");
            await client.SendAsync(hello, 0, hello.Length, deadline, CancellationToken.None);
            var first = await server.ReceiveUntilAsync(Encoding.ASCII.GetBytes(";"), 1 << 20, deadline, CancellationToken.None);
            Assert.Equal("secret;", Encoding.ASCII.GetString(first));
            var rest = await server.ReceiveCountAsync(5, deadline, CancellationToken.None);
            Assert.Equal("after", Encoding.ASCII.GetString(rest));
        }

        [Theory]
        [InlineData(false, false)]
        [InlineData(true, false)]
        [InlineData(false, true)]
        public async Task TellsAProbeThatSentNothingFromAFailedHandshake(bool reset, bool sendsPlaintext)
        {
            using var cert = Current();
            var (accepted, clientSocket) = LoopbackPair.Open();
            using var server = new TcpSession(accepted);
            var serverTls = server.StartTlsAsServerAsync(new TlsServerOptions(cert), Deadline.After(TimeSpan.FromSeconds(30)), CancellationToken.None);
            if (sendsPlaintext)
            {
                clientSocket.Send(Encoding.ASCII.GetBytes("GET / HTTP/1.0\r\n\r\n"));
            }

            if (reset)
            {
                clientSocket.LingerState = new LingerOption(true, 0);
            }

            clientSocket.Dispose();
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => serverTls);
            // Gone before a byte: a probe (ConnectionReset); anything it said makes it a failed handshake.
            Assert.Equal(sendsPlaintext ? SocketErrorKind.AuthenticationFailed : SocketErrorKind.ConnectionReset, ex.Kind);
            Assert.Equal(SessionState.Closed, server.State);
        }

        [Fact]
        public async Task ClosesTheSessionAndNamesTheReasonWhenValidationFails()
        {
            using var cert = Current();
            var (accepted, clientSocket) = LoopbackPair.Open();
            using var server = new TcpSession(accepted);
            using var client = new TcpSession(clientSocket);
            var deadline = Deadline.After(TimeSpan.FromSeconds(20));
            var serverTls = server.StartTlsAsServerAsync(new TlsServerOptions(cert), deadline, CancellationToken.None);
            var ex = await Assert.ThrowsAsync<PSSocketException>(() => client.StartTlsAsClientAsync(new TlsClientOptions { ServerName = "localhost" }, deadline, CancellationToken.None));
            Assert.Equal(SocketErrorKind.AuthenticationFailed, ex.Kind);
            Assert.Contains("untrusted root", ex.Message);
            Assert.Equal(SessionState.Closed, client.State);
            Assert.False(client.IsTls);
            // With TLS 1.3 the server finishes before the client rejects it; either outcome is fine here.
            await Task.WhenAny(serverTls, Task.Delay(TimeSpan.FromSeconds(10)));
            _ = serverTls.Exception;
        }
    }
}
