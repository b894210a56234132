// The emulated network's name resolution, for every Node.js process the tier runs from cdk.out (the functions'
// execution environments, imported by lambda-runtime.mjs; a bridged task's Node containers, through
// `NODE_OPTIONS=--import`). TIER_HOSTS maps names to the loopback addresses the tests bound: an exact name
// (`shop-api.tier.test`), or `*.` and a suffix for every name under it (`*.rds.amazonaws.com`: the endpoints moto
// gives its RDS instances and clusters, served by the throwaway PostgreSQL a test starts). Other names resolve as usual.
import dns from 'node:dns';

// DNS names are case-insensitive.
const hosts = Object.fromEntries(Object.entries(JSON.parse(process.env.TIER_HOSTS ?? '{}')).map(([name, address]) => [name.toLowerCase(), address]));
const suffixes = Object.entries(hosts).filter(([name]) => name.startsWith('*.')).map(([name, address]) => [name.slice(1), address]);

/** The address the emulated network gives `hostname`, or undefined when it leaves the name to the resolver. */
export function tierAddress(hostname) {
  const name = String(hostname).toLowerCase().replace(/\.$/, '');
  if (Object.hasOwn(hosts, name)) return hosts[name];
  return suffixes.find(([suffix]) => name.endsWith(suffix))?.[1];
}

const lookup = dns.lookup;
dns.lookup = (hostname, options, callback) => {
  const cb = typeof options === 'function' ? options : callback;
  const opts = typeof options === 'function' ? {} : (options ?? {});
  const address = tierAddress(hostname);
  if (address === undefined) return lookup(hostname, opts, cb);
  return opts.all ? cb(null, [{ address, family: 4 }]) : cb(null, address, 4);
};
