using System.Runtime.InteropServices;
using System.Security;
using PSSocket.Net;

namespace PSSocket.Ssh
{
    /// <summary>
    /// Connects with SSH.NET: host key checked by the engine's policy inside the key exchange,
    /// then public key, password and keyboard-interactive authentication in that order. Every
    /// SSH.NET failure leaves as a PSSocketException that never shows a secret.
    /// </summary>
    public sealed class SshConnector : ISshConnector
    {
        /// <inheritdoc />
        public async Task<ISshConnection> ConnectAsync(SshConnectOptions options, CancellationToken token)
        {
            if (options is null)
            {
                throw new ArgumentNullException(nameof(options));
            }

            var login = new Login(options);
            var info = CreateConnectionInfo(options, login.Methods);
            PreferKnownKeyTypes(info, options);
            var client = new SshClient(info);
            PSSocketException? hostKeyFailure = null;
            string? fingerprint = null, keyType = null;
            client.HostKeyReceived += (_, e) =>
            {
                try
                {
                    options.HostKeys.Verify(options.Host, options.Port, e.HostKey);
                    fingerprint = Net.Ssh.KnownHosts.Fingerprint(e.HostKey);
                    keyType = Net.Ssh.KnownHosts.KeyType(e.HostKey);
                    e.CanTrust = true;
                }
                catch (PSSocketException ex)
                {
                    hostKeyFailure = ex;
                    e.CanTrust = false;
                }
            };

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
            if (options.Timeout > TimeSpan.Zero && options.Timeout != Timeout.InfiniteTimeSpan)
            {
                timeout.CancelAfter(options.Timeout);
            }

            try
            {
                await client.ConnectAsync(timeout.Token).ConfigureAwait(false);
                return new SshConnection(client, options, fingerprint ?? "", keyType ?? "");
            }
            catch (Exception ex) when (ex is not PSSocketException)
            {
                client.Dispose();
                token.ThrowIfCancellationRequested();
                throw hostKeyFailure ?? Translate(ex, options, login);
            }
            finally
            {
                login.Clear();
            }
        }

        private static ConnectionInfo CreateConnectionInfo(SshConnectOptions o, AuthenticationMethod[] methods)
        {
            var info = new ConnectionInfo(o.ConnectHost, o.ConnectPort, o.User, methods)
            {
                Timeout = o.Timeout > TimeSpan.Zero && o.Timeout != Timeout.InfiniteTimeSpan ? o.Timeout : TimeSpan.FromDays(1),
                Encoding = o.Encoding,
            };
            return info;
        }

        internal static string Plain(SecureString secret)
        {
            var ptr = Marshal.SecureStringToGlobalAllocUnicode(secret);
            try
            {
                return Marshal.PtrToStringUni(ptr, secret.Length);
            }
            finally
            {
                Marshal.ZeroFreeGlobalAllocUnicode(ptr);
            }
        }

        /// <summary>Offers first the host key types known_hosts holds for the host, as OpenSSH does, so a known host is not met with a key of another type.</summary>
        private static void PreferKnownKeyTypes(ConnectionInfo info, SshConnectOptions o)
        {
            var known = o.HostKeys.KnownKeyTypes(o.Host, o.Port);
            if (known.Count == 0)
            {
                return;
            }

            var all = info.HostKeyAlgorithms.ToList();
            bool Known(string algorithm) => known.Any(k => k == algorithm || (k == "ssh-rsa" && algorithm.StartsWith("rsa-sha2", StringComparison.Ordinal)) || algorithm.StartsWith(k + "-cert", StringComparison.Ordinal));
            var ordered = all.Where(a => Known(a.Key)).Concat(all.Where(a => !Known(a.Key))).ToList();
            info.HostKeyAlgorithms.Clear();
            foreach (var pair in ordered)
            {
                info.HostKeyAlgorithms.Add(pair.Key, pair.Value);
            }
        }

        private static PSSocketException Translate(Exception ex, SshConnectOptions o, Login login)
        {
            string target = o.Target;
            var socketEx = ex as SocketException ?? ex.InnerException as SocketException;
            return ex switch
            {
                OperationCanceledException or SshOperationTimeoutException => new PSSocketException(SocketErrorKind.ConnectionTimedOut,
                    $"Connecting and logging in to {target} did not finish within {o.Timeout.TotalSeconds:0.###} s{(login.Tried ? " (the server took too long to accept the login)" : "")}.", ex, SocketError.TimedOut, target),
                SshAuthenticationException => new PSSocketException(SocketErrorKind.AuthenticationFailed,
                    $"The SSH server {target} refused the login of user '{o.User}'{login.Describe()}.", ex, target: target),
                ProxyException => new PSSocketException(SocketErrorKind.ProxyError, $"The proxy {o.Proxy} did not connect to {target}: {ex.Message}", ex, target: target),
                _ when socketEx is not null => PSSocketException.From(socketEx, $"Connecting to {target}", target),
                SshConnectionException => new PSSocketException(SocketErrorKind.ConnectionReset, $"The SSH connection to {target} failed: {ex.Message}", ex, target: target),
                IOException or SshException => new PSSocketException(SocketErrorKind.SocketError, $"The SSH connection to {target} failed: {ex.Message}", ex, target: target),
                _ => new PSSocketException(SocketErrorKind.SocketError, $"The SSH connection to {target} failed: {ex.GetType().Name}: {ex.Message}", ex, target: target),
            };
        }

        /// <summary>The authentication methods for one connect, and what happened to them (for the message).</summary>
        private sealed class Login
        {
            private readonly List<string> _tried = new();
            private readonly List<string> _unanswered = new();
            private readonly byte[]? _password;
            private readonly SshConnectOptions _options;

            public Login(SshConnectOptions o)
            {
                _options = o;
                var methods = new List<AuthenticationMethod>();
                var keys = o.KeyFiles.Select(path => LoadKey(path, o.KeyPassphrase)).ToArray();
                if (keys.Length > 0)
                {
                    methods.Add(new PrivateKeyAuthenticationMethod(o.User, keys));
                    _tried.Add($"public key ({string.Join(", ", o.KeyFiles.Select(Path.GetFileName))})");
                }

                if (o.Password is not null)
                {
                    _password = SecretText.Encode(o.Password, System.Text.Encoding.UTF8, null);
                    methods.Add(new PasswordAuthenticationMethod(o.User, _password));
                    var interactive = new KeyboardInteractiveAuthenticationMethod(o.User);
                    interactive.AuthenticationPrompt += Answer;
                    methods.Add(interactive);
                    _tried.Add("password");
                    _tried.Add("keyboard-interactive");
                }

                if (methods.Count == 0)
                {
                    methods.Add(new NoneAuthenticationMethod(o.User));
                    _tried.Add("none (give -Credential or -KeyFilePath)");
                }

                Methods = methods.ToArray();
            }

            public AuthenticationMethod[] Methods { get; }

            public bool Tried { get; private set; }

            private void Answer(object? sender, AuthenticationPromptEventArgs e)
            {
                Tried = true;
                foreach (var prompt in e.Prompts)
                {
                    if (prompt.Request.IndexOf("password", StringComparison.OrdinalIgnoreCase) >= 0 && _options.Password is not null)
                    {
                        prompt.Response = Plain(_options.Password);
                    }
                    else
                    {
                        lock (_unanswered)
                        {
                            _unanswered.Add(prompt.Request.Trim());
                        }

                        prompt.Response = "";
                    }
                }
            }

            public string Describe()
            {
                string how = $" (tried: {string.Join(", ", _tried)})";
                lock (_unanswered)
                {
                    return _unanswered.Count == 0 ? how + ". Check the user name, the password or the key"
                        : how + $". The server asked {string.Join(", ", _unanswered.Select(p => $"'{p}'"))}, which -Credential cannot answer (only password prompts are answered)";
                }
            }

            public void Clear()
            {
                if (_password is not null)
                {
                    Array.Clear(_password, 0, _password.Length);
                }
            }

            private static PrivateKeyFile LoadKey(string path, SecureString? passphrase)
            {
                try
                {
                    return passphrase is null ? new PrivateKeyFile(path) : new PrivateKeyFile(path, Plain(passphrase));
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw new PSSocketException(SocketErrorKind.InvalidArgument, $"The key file '{path}' cannot be read: {ex.Message}", ex, target: path);
                }
                catch (SshPassPhraseNullOrEmptyException ex)
                {
                    throw new PSSocketException(SocketErrorKind.InvalidArgument, $"The key file '{path}' is encrypted: give its passphrase with -KeyPassphrase.", ex, target: path);
                }
                catch (Exception ex) when (ex is SshException or ArgumentException or FormatException or NotSupportedException or System.Security.Cryptography.CryptographicException)
                {
                    throw new PSSocketException(SocketErrorKind.InvalidArgument, $"The key file '{path}' cannot be used (a wrong -KeyPassphrase, or not a private key SSH.NET reads: OpenSSH, PEM or PKCS#8 RSA, ECDSA, Ed25519): {ex.Message}", ex, target: path);
                }
            }
        }
    }
}
