#!/usr/bin/env node
// Drives railgate through the Node.js `onvif` library (agsh/onvif, pinned in package.json)
// for tests/interop/test_node_onvif_client.py, and prints one JSON object with what the
// library returned (its own parsed objects, normalised so Python can compare them).
//
//   node client.js --url http://127.0.0.1:PORT/onvif/device_service --user U --password P \
//                  --scenario connect|events|keepalive|eventloop [--token T] [--termination PT4S --until 13] [--events 2]
//
// Everything goes through the library's Cam object: its WS-Security UsernameToken, its
// request code and its xml2js parsing. Where the library hard-codes a value the test must
// change (CreatePullPointSubscription's InitialTerminationTime is always PT2M), the script
// rewrites that one value in the body the library built, and says so (see `keepalive`).
'use strict';

const { Cam } = require('onvif');

function args(argv) {
	const out = {};
	for (let i = 2; i < argv.length; i += 2) {
		if (!argv[i].startsWith('--') || argv[i + 1] === undefined) {
			throw new Error(`bad argument ${argv[i]}`);
		}
		out[argv[i].slice(2)] = argv[i + 1];
	}
	for (const need of ['url', 'scenario']) {
		if (!out[need]) {
			throw new Error(`--${need} is required`);
		}
	}
	return out;
}

// The library's callbacks as promises; `this` is the Cam.
function call(cam, method, ...rest) {
	return new Promise((resolve, reject) => {
		cam[method](...rest, function(err, data, xml) {
			if (err) {
				err.xml = xml;
				reject(err);
			} else {
				resolve(data);
			}
		});
	});
}

function iso(value) {
	return value instanceof Date ? value.toISOString() : { notADate: value };
}

function list(value) {
	if (value === undefined || value === null || value === '') {
		return [];
	}
	return Array.isArray(value) ? value : [value];
}

// A NotificationMessage as the library hands it over (xml2js through `linerase`, names
// lower-camel-cased, prefixes and namespace declarations stripped).
function notification(m) {
	const items = (group) => {
		const out = {};
		for (const item of list(group && group.simpleItem)) {
			out[item.$.Name] = item.$.Value;
		}
		return out;
	};
	const msg = m.message && m.message.message;
	return {
		topic: m.topic && typeof m.topic === 'object' ? m.topic._ : m.topic,
		dialect: m.topic && m.topic.$ ? m.topic.$.Dialect : undefined,
		utcTime: msg && msg.$ ? iso(msg.$.UtcTime) : undefined,
		operation: msg && msg.$ ? msg.$.PropertyOperation : undefined,
		source: items(msg && msg.source),
		data: items(msg && msg.data),
	};
}

function pullResult(data, started) {
	return {
		currentTime: iso(data.currentTime),
		terminationTime: iso(data.terminationTime),
		messages: list(data.notificationMessage).map(notification),
		secondsSinceCreate: (Date.now() - started) / 1000,
	};
}

// One library pullMessages, with when it was sent and answered (seconds, wall clock).
async function timedPull(cam, started) {
	const sent = Date.now();
	const data = await call(cam, 'pullMessages', { messageLimit: 10 });
	const out = pullResult(data, started);
	out.sent = sent / 1000;
	out.received = Date.now() / 1000;
	// The library's own reckoning of when the subscription ends (from this answer).
	out.libraryTerminationTime = iso(new Date(Date.now() - data.currentTime.getTime() + data.terminationTime.getTime()));
	return out;
}

function newCam(opts, username, password) {
	const u = new URL(opts.url);
	return new Cam({
		hostname: u.hostname,
		port: Number(u.port),
		path: u.pathname,
		username,
		password,
		// Our device has no media service: connect() explicitly, not from the constructor.
		autoconnect: false,
		timeout: 20000,
	});
}

async function connect(cam) {
	// connect(): GetSystemDateAndTime (the clock offset its UsernameToken needs), then
	// GetServices; with no media service listed it skips GetProfiles/GetVideoSources.
	const warnings = [];
	cam.on('warning', (w) => warnings.push(String(w)));
	await new Promise((resolve, reject) => cam.connect((err) => (err ? reject(err) : resolve())));
	return warnings;
}

function subscription(cam) {
	const s = cam.events.subscription;
	return {
		address: s.subscriptionReference.address.href,
		currentTime: iso(s.currentTime),
		terminationTime: iso(s.terminationTime),
	};
}

const scenarios = {
	async connect(opts) {
		const cam = newCam(opts, opts.user, opts.password);
		const warnings = await connect(cam);
		const date = await call(cam, 'getSystemDateAndTime');
		const info = await call(cam, 'getDeviceInformation');
		const caps = await call(cam, 'getCapabilities');
		const hostname = await call(cam, 'getHostname');
		const scopes = await call(cam, 'getScopes');
		const uri = {};
		for (const [name, u] of Object.entries(cam.uri || {})) {
			uri[name] = u.href;
		}
		// The same calls with a wrong password: the library reports the fault.
		const wrong = newCam(opts, opts.user, 'not-' + opts.password);
		await connect(wrong);
		let wrongError = null;
		try {
			await call(wrong, 'getDeviceInformation');
		} catch (e) {
			wrongError = e.message;
		}
		return {
			warnings,
			timeShiftMs: cam.timeShift,
			systemDateAndTime: iso(date),
			services: list(cam.services).map((s) => ({ namespace: s.namespace, XAddr: s.XAddr })),
			uri,
			media2Support: cam.media2Support,
			deviceInformation: info,
			capabilities: {
				deviceXAddr: caps.device && caps.device.XAddr,
				eventsXAddr: caps.events && caps.events.XAddr,
				wsPullPointSupport: caps.events && caps.events.WSPullPointSupport,
				relayOutputs: caps.device && caps.device.IO ? caps.device.IO.relayOutputs : undefined,
				inputConnectors: caps.device && caps.device.IO ? caps.device.IO.inputConnectors : undefined,
			},
			hostname,
			scopes: list(scopes).map((s) => s.scopeItem),
			wrongPasswordError: wrongError,
		};
	},

	// CreatePullPointSubscription and PullMessages as the library does them (PT2M, PT1M),
	// pulling until a Changed message from --token arrives (at most 6 pulls): the first answers
	// with the Initialized property states, the test raises the event while a later one
	// waits. Then Unsubscribe.
	async events(opts) {
		const cam = newCam(opts, opts.user, opts.password);
		await connect(cam);
		const started = Date.now();
		await call(cam, 'createPullPointSubscription');
		const sub = subscription(cam);
		const pulls = [];
		while (pulls.length < 6 && !pulls.some((p) => p.messages.some((m) => m.source.InputToken === opts.token && m.operation === 'Changed'))) {
			pulls.push(await timedPull(cam, started));
		}
		await call(cam, 'unsubscribe');
		return { subscription: sub, pulls, unsubscribed: cam.events.subscription === undefined };
	},

	// A pull point with a short initial termination, pulled (never renewed) until --until
	// seconds after it was created (at most 12 pulls). The library always asks for PT2M;
	// its request body is rewritten to --termination here, everything else (the call,
	// parsing, the subscription state it keeps) is the library's.
	async keepalive(opts) {
		const cam = newCam(opts, opts.user, opts.password);
		await connect(cam);
		const request = cam._request;
		cam._request = function(options, callback) {
			options.body = options.body.replace('<InitialTerminationTime>PT2M</InitialTerminationTime>',
				`<InitialTerminationTime>${opts.termination}</InitialTerminationTime>`);
			return request.call(this, options, callback);
		};
		const started = Date.now();
		await call(cam, 'createPullPointSubscription');
		cam._request = request;
		const sub = subscription(cam);
		const pulls = [];
		while (pulls.length < 12 && (Date.now() - started) / 1000 < Number(opts.until)) {
			try {
				pulls.push(await timedPull(cam, started));
			} catch (e) {
				pulls.push({ error: e.message, secondsSinceCreate: (Date.now() - started) / 1000 });
				break;
			}
		}
		return { subscription: sub, pulls };
	},

	// The library's own event loop (cam.on('event')): create, pull, emit, Renew, pull again;
	// once the last listener is gone it unsubscribes by itself. Waits for --events events
	// that have an InputToken (the test's; the gateway's Initialized states come first).
	async eventloop(opts) {
		const cam = newCam(opts, opts.user, opts.password);
		await connect(cam);
		const want = Number(opts.events || 2);
		const got = [];
		const errors = [];
		const responses = [];
		cam.on('rawResponse', (xml, status) => {
			const m = /<(?:\w+:)?Body[^>]*>\s*<(?:\w+:)?(\w+)/.exec(xml);
			responses.push({ element: m ? m[1] : null, status });
		});
		cam.on('eventsError', (e) => errors.push(e.message));
		await new Promise((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`only ${JSON.stringify(got)} in 60 s`)), 60000);
			const listener = (message) => {
				got.push(notification(message));
				if (got.filter((m) => m.source.InputToken !== undefined).length >= want) {
					clearTimeout(timer);
					cam.removeListener('event', listener);
					resolve();
				}
			};
			cam.on('event', listener);
		});
		// The library now renews, sees no listener and unsubscribes: wait for that answer.
		const deadline = Date.now() + 15000;
		while (!responses.some((r) => r.element === 'UnsubscribeResponse') && Date.now() < deadline) {
			await new Promise((r) => setTimeout(r, 50));
		}
		return { events: got, errors, responses };
	},
};

async function main() {
	const opts = args(process.argv);
	const run = scenarios[opts.scenario];
	if (!run) {
		throw new Error(`unknown scenario ${opts.scenario}`);
	}
	const result = await run(opts);
	process.stdout.write(JSON.stringify({ ok: true, result }) + '\n');
}

main().then(() => process.exit(0), (e) => {
	process.stdout.write(JSON.stringify({ ok: false, error: e.message, xml: e.xml || null }) + '\n');
	process.exit(1);
});
