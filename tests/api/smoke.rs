use crate::both_backends;
use crate::helpers::*;

both_backends!(
    health_cli_and_graceful_shutdown,
    |mut app: TestApp| async move {
        let (s, v) = app.get("/health", None).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["database"], "up");
        let (s, v) = app.get("/openapi.json", None).await;
        assert_eq!(s, 200);
        assert_eq!(v["openapi"], "3.1.0");
        assert!(v["paths"]["/v1/requests"].is_object(), "{v}");
        // every operation documents the database-unavailable answer and its Retry-After
        for (path, item) in v["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let r = &op["responses"]["503"];
                assert!(
                    r["headers"]["Retry-After"].is_object()
                        && r["content"]["application/problem+json"].is_object(),
                    "{method} {path}: 503 undocumented: {r}"
                );
            }
        }
        // unauthenticated and bad tokens are 401 problems
        let (s, v) = app.get("/v1/requests", None).await;
        assert_eq!(s, 401);
        assert_eq!(v["status"], 401);
        let (s, _) = app.get("/v1/requests", Some("sua_not-a-token")).await;
        assert_eq!(s, 401);
        let (s, _) = app.get("/v1/nowhere", None).await;
        assert_eq!(s, 404);
        let status = app.stop();
        assert!(status.success(), "sua exited with {status:?} after SIGTERM");
    }
);
