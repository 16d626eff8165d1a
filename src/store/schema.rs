//! Diesel table definitions, written by hand with types both backends share
//! (Text, BigInt, Bool). Kept in step with `migrations/{sqlite,postgres}`.

diesel::table! {
    domains (id) {
        id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        enabled -> Bool,
        extra -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    projects (id) {
        id -> Text,
        name -> Text,
        domain_id -> Text,
        parent_id -> Nullable<Text>,
        description -> Nullable<Text>,
        enabled -> Bool,
        is_domain -> Bool,
        extra -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    domain_tags (domain_id, name) {
        domain_id -> Text,
        name -> Text,
    }
}

diesel::table! {
    project_tags (project_id, name) {
        project_id -> Text,
        name -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        name -> Text,
        domain_id -> Text,
        enabled -> Bool,
        default_project_id -> Nullable<Text>,
        extra -> Text,
        options -> Text,
        created_at -> BigInt,
        last_active_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    passwords (id) {
        id -> Text,
        user_id -> Text,
        password_hash -> Text,
        self_service -> Bool,
        created_at -> BigInt,
        expires_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    groups (id) {
        id -> Text,
        name -> Text,
        domain_id -> Text,
        description -> Nullable<Text>,
        extra -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    user_group_memberships (user_id, group_id) {
        user_id -> Text,
        group_id -> Text,
    }
}

diesel::table! {
    roles (id) {
        id -> Text,
        name -> Text,
        domain_id -> Text,
        description -> Nullable<Text>,
        options -> Text,
        extra -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    implied_roles (prior_role_id, implied_role_id) {
        prior_role_id -> Text,
        implied_role_id -> Text,
    }
}

diesel::table! {
    role_assignments (kind, actor_id, target_id, role_id, inherited) {
        kind -> Text,
        actor_id -> Text,
        target_id -> Text,
        role_id -> Text,
        inherited -> Bool,
    }
}

diesel::table! {
    regions (id) {
        id -> Text,
        description -> Text,
        parent_region_id -> Nullable<Text>,
        extra -> Text,
    }
}

diesel::table! {
    services (id) {
        id -> Text,
        #[sql_name = "type"]
        service_type -> Text,
        name -> Text,
        description -> Nullable<Text>,
        enabled -> Bool,
        extra -> Text,
    }
}

diesel::table! {
    endpoints (id) {
        id -> Text,
        service_id -> Text,
        region_id -> Nullable<Text>,
        interface -> Text,
        url -> Text,
        enabled -> Bool,
        extra -> Text,
    }
}

diesel::table! {
    revocation_events (id) {
        id -> Text,
        domain_id -> Nullable<Text>,
        project_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        role_id -> Nullable<Text>,
        trust_id -> Nullable<Text>,
        consumer_id -> Nullable<Text>,
        access_token_id -> Nullable<Text>,
        issued_before -> BigInt,
        expires_at -> Nullable<BigInt>,
        revoked_at -> BigInt,
        audit_id -> Nullable<Text>,
        audit_chain_id -> Nullable<Text>,
    }
}

diesel::table! {
    credentials (id) {
        id -> Text,
        user_id -> Text,
        project_id -> Nullable<Text>,
        #[sql_name = "type"]
        credential_type -> Text,
        key_hash -> Text,
        encrypted_blob -> Text,
        extra -> Text,
        name -> Nullable<Text>,
        description -> Nullable<Text>,
        enabled -> Bool,
        expires_at -> Nullable<BigInt>,
        allowed_cidrs -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
        use_count -> BigInt,
        access_digest -> Nullable<Text>,
        secret_digest -> Nullable<Text>,
        action_when_leaked -> Nullable<Text>,
        leaked_at -> Nullable<BigInt>,
        rate_limit -> Nullable<Text>,
    }
}

diesel::table! {
    key_rates (key_id) {
        key_id -> Text,
        tat -> BigInt,
    }
}

diesel::table! {
    access_rules (id) {
        id -> Text,
        user_id -> Text,
        service -> Text,
        path -> Text,
        method -> Text,
    }
}

diesel::table! {
    application_credentials (id) {
        id -> Text,
        name -> Text,
        secret_hash -> Text,
        description -> Nullable<Text>,
        user_id -> Text,
        project_id -> Nullable<Text>,
        system -> Nullable<Text>,
        expires_at -> Nullable<BigInt>,
        unrestricted -> Bool,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
        secret_digest -> Nullable<Text>,
        action_when_leaked -> Nullable<Text>,
        leaked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        at -> BigInt,
        action -> Text,
        outcome -> Text,
        key_kind -> Nullable<Text>,
        key_id -> Nullable<Text>,
        user_id -> Nullable<Text>,
        project_id -> Nullable<Text>,
        initiator_id -> Nullable<Text>,
        event -> Text,
    }
}

diesel::table! {
    leak_reports (id) {
        id -> Text,
        reporter_id -> Text,
        source -> Nullable<Text>,
        received_at -> BigInt,
        items -> Integer,
        processed_at -> Nullable<BigInt>,
        matched -> Nullable<Integer>,
    }
}

diesel::table! {
    leak_report_items (report_id, digest) {
        report_id -> Text,
        digest -> Text,
    }
}

diesel::table! {
    application_credential_roles (application_credential_id, role_id) {
        application_credential_id -> Text,
        role_id -> Text,
    }
}

diesel::table! {
    application_credential_access_rules (application_credential_id, access_rule_id) {
        application_credential_id -> Text,
        access_rule_id -> Text,
    }
}

diesel::table! {
    registered_limits (internal_id) {
        internal_id -> BigInt,
        id -> Text,
        service_id -> Text,
        region_id -> Nullable<Text>,
        resource_name -> Text,
        default_limit -> Integer,
        description -> Nullable<Text>,
    }
}

diesel::table! {
    limits (internal_id) {
        internal_id -> BigInt,
        id -> Text,
        project_id -> Nullable<Text>,
        domain_id -> Nullable<Text>,
        registered_limit_id -> Text,
        resource_limit -> Integer,
        description -> Nullable<Text>,
    }
}

diesel::table! {
    trusts (id) {
        id -> Text,
        trustor_user_id -> Text,
        trustee_user_id -> Text,
        project_id -> Nullable<Text>,
        impersonation -> Bool,
        expires_at -> Nullable<BigInt>,
        remaining_uses -> Nullable<Integer>,
        redelegated_trust_id -> Nullable<Text>,
        redelegation_count -> Integer,
        deleted_at -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    trust_roles (trust_id, role_id) {
        trust_id -> Text,
        role_id -> Text,
    }
}

diesel::table! {
    policies (id) {
        id -> Text,
        blob -> Text,
        #[sql_name = "type"]
        policy_type -> Text,
        extra -> Text,
    }
}

diesel::table! {
    policy_associations (id) {
        id -> Text,
        policy_id -> Text,
        endpoint_id -> Nullable<Text>,
        service_id -> Nullable<Text>,
        region_id -> Nullable<Text>,
    }
}

diesel::table! {
    project_endpoints (endpoint_id, project_id) {
        endpoint_id -> Text,
        project_id -> Text,
    }
}

diesel::table! {
    endpoint_groups (id) {
        id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        filters -> Text,
    }
}

diesel::table! {
    project_endpoint_groups (endpoint_group_id, project_id) {
        endpoint_group_id -> Text,
        project_id -> Text,
    }
}

diesel::table! {
    domain_config (domain_id, config_group, config_option) {
        domain_id -> Text,
        config_group -> Text,
        config_option -> Text,
        value -> Nullable<Text>,
        encrypted_value -> Nullable<Text>,
        key_hash -> Nullable<Text>,
    }
}

diesel::table! {
    oauth_consumers (id) {
        id -> Text,
        description -> Nullable<Text>,
        encrypted_secret -> Text,
        key_hash -> Text,
        extra -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    oauth_request_tokens (id) {
        id -> Text,
        consumer_id -> Text,
        encrypted_secret -> Text,
        key_hash -> Text,
        requested_project_id -> Text,
        verifier_digest -> Nullable<Text>,
        authorizing_user_id -> Nullable<Text>,
        role_ids -> Nullable<Text>,
        expires_at -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::table! {
    oauth_access_tokens (id) {
        id -> Text,
        consumer_id -> Text,
        encrypted_secret -> Text,
        key_hash -> Text,
        authorizing_user_id -> Text,
        project_id -> Text,
        role_ids -> Text,
        expires_at -> Nullable<BigInt>,
        created_at -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    domain_config,
    oauth_consumers,
    oauth_request_tokens,
    oauth_access_tokens,
    project_endpoints,
    endpoint_groups,
    project_endpoint_groups,
    policies,
    policy_associations,
    trusts,
    trust_roles,
    registered_limits,
    limits,
    domains,
    projects,
    project_tags,
    domain_tags,
    users,
    passwords,
    groups,
    user_group_memberships,
    roles,
    implied_roles,
    role_assignments,
    regions,
    services,
    endpoints,
    revocation_events,
    credentials,
    access_rules,
    application_credentials,
    application_credential_roles,
    application_credential_access_rules,
    leak_reports,
    leak_report_items,
    audit_events,
);
